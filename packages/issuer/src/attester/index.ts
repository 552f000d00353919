/** The vendor's online attester (docs/vendor-attester.md). */
export { ATTESTER_ROUTES, type AttestBody, DEFAULT_TOKEN_TTL_S } from './attest.ts';
export {
  type AttesterRecord,
  type AttesterRecords,
  type AttesterSummary,
  openAttesterRecords,
  PgAttesterRecords,
  SqliteAttesterRecords,
} from './records.ts';
export { type AttesterOptions, type RunningAttester, startAttester } from './server.ts';
