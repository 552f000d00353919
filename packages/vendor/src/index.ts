/** @charter/vendor — the vendor's records and signing operations, for the CLI and the portal. */
export { openVendorDb, type VendorDb } from './db.ts';
export type { ReportFinding, ReportVerdict, TraceResult } from './evidence.ts';
export {
  type Actor,
  type AppRow,
  DEFAULT_KEY_TTL_S,
  type LicenseInput,
  normaliseCertDigest,
  type PassphraseSource,
  type SubmissionInput,
  type SubmissionRecord,
  Vendor,
  type VendorEvent,
} from './vendor.ts';
