/** @charter/issuer — the vendor's records and signing operations, for the CLI and the portal. */

export {
  ATTESTER_ROUTES,
  type AttesterOptions,
  type AttesterRecord,
  type AttesterRecords,
  type AttesterSummary,
  openAttesterRecords,
  PgAttesterRecords,
  type RunningAttester,
  SqliteAttesterRecords,
  startAttester,
} from './attester/index.ts';
export { openVendorDb, type VendorDb } from './db.ts';
export type { ReportFinding, ReportVerdict, TraceResult, VouchedLookup } from './evidence.ts';
export { signBuildManifest } from './manifest.ts';
export {
  actorName,
  hashPassword,
  LOCKOUT,
  MIN_PASSWORD,
  type PortalSession,
  type PortalUser,
  ROLES,
  type Role,
  SESSION_TTL,
  Users,
  verifyPassword,
} from './users.ts';
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
