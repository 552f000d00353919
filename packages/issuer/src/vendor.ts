/**
 * The vendor's operations behind one facade: keys, publishers, submissions and approvals, sites,
 * licenses and revocations. The CLI and the portal are thin shells over this class, and the class is
 * a thin shell over the operation files (ops/*), which keep their SQL in store/*. Every decision is
 * written to the `events` record in the same transaction as the change it records.
 */
import type { KeyUse, LicenseClaims, PublicJwk, SealedKey, SigningKey, TrustDocument } from '@charter/core';
import type { VendorDb } from './db.ts';
import type { ReportVerdict, TraceResult, VouchedLookup } from './evidence.ts';
import * as charters from './ops/charters.ts';
import { type VendorContext, vendorIdOf } from './ops/context.ts';
import * as keys from './ops/keys.ts';
import * as licenses from './ops/licenses.ts';
import * as reports from './ops/reports.ts';
import * as revocations from './ops/revocations.ts';
import * as submissions from './ops/submissions.ts';
import { eventRows, getMeta } from './store/meta.ts';
import type { Actor, AppRow, LicenseInput, SubmissionInput, SubmissionRecord, VendorEvent } from './types.ts';

export { DEFAULT_KEY_TTL_S } from './ops/keys.ts';
export { DEFAULT_REVOCATIONS_TTL_S } from './ops/revocations.ts';
export { normaliseCertDigest } from './ops/submissions.ts';
export type {
  Actor,
  AppRow,
  LicenseInput,
  PassphraseSource,
  SubmissionInput,
  SubmissionRecord,
  VendorEvent,
} from './types.ts';

/** The vendor's state and operations over one database. */
export class Vendor implements VendorContext {
  constructor(
    readonly db: VendorDb,
    readonly actor: Actor,
  ) {}

  /** The vendor id, or throws when `vendor init` has not run. */
  vendorId(): string {
    return vendorIdOf(this);
  }

  /** The vendor's display name. */
  vendorName(): string {
    this.vendorId();
    return getMeta(this.db, 'vendor_name') as string;
  }

  // ---- keys (ops/keys.ts) ----

  /** Create the vendor: a root key sealed under the passphrase, and delegated charter and license keys. */
  init(input: {
    vendorId: string;
    name: string;
    passphrase: string;
    keyTtlS?: number;
  }): Promise<{ vendor_id: string; root_kid: string }> {
    return keys.init(this, input);
  }

  /** Make a new signing key for `use` (charter and/or license); older keys keep verifying until they expire. */
  rotateKeys(input: {
    uses: KeyUse[];
    passphrase: string;
    keyTtlS?: number;
  }): Promise<{ keys: { kid: string; use: KeyUse; exp: number }[] }> {
    return keys.rotateKeys(this, input);
  }

  /** The sealed root key for offline storage; with `remove`, it is deleted from this home. */
  exportRoot(input: { remove: boolean }): { sealed: SealedKey; removed: boolean } {
    return keys.exportRoot(this, input);
  }

  /** Bring a sealed root key back into this home (it must be this vendor's root). */
  importRoot(sealed: SealedKey): { root_kid: string } {
    return keys.importRoot(this, sealed);
  }

  /** Signing keys with their use and validity, newest first. */
  listKeys(): { kid: string; use: string; nbf: number; exp: number; active: boolean }[] {
    return keys.listKeys(this);
  }

  /** The active attester signing key (`vendor attester serve`), refusing with `key_unavailable`. */
  attesterKey(): SigningKey & { exp: number } {
    this.vendorId();
    return keys.activeKey(this, 'attester');
  }

  /** The public JWK of a signing key. */
  publicJwkOf(kid: string): PublicJwk {
    return keys.publicJwkOf(this, kid);
  }

  /** Every key delegation still valid: what a key ring needs to verify this vendor's charters. */
  delegations(): string[] {
    return keys.delegations(this);
  }

  /** The trust document: the vendor id and its root public keys (a JWK Set). */
  trustDocument(): TrustDocument {
    return keys.trustDocument(this);
  }

  // ---- publishers, submissions and review (ops/submissions.ts, ops/charters.ts) ----

  /** Add a publisher: the vendor itself or a third party whose apps the vendor reviews. */
  addPublisher(input: { name: string }): { publisher_id: string } {
    return submissions.addPublisher(this, input);
  }

  /** Publishers, oldest first. */
  listPublishers(): { id: string; name: string; created_at: number }[] {
    return submissions.listPublishers(this);
  }

  /** Record a submission after checking every field a charter will carry. */
  submitApp(input: SubmissionInput): { submission_id: string; app_id: string } {
    return submissions.submitApp(this, input);
  }

  /** One submission, or not_found. */
  submission(id: string): SubmissionRecord {
    return submissions.submission(this, id);
  }

  /** The charter signed when a submission was approved (the compact JWS), or not_found. */
  charterOfSubmission(submissionId: string): charters.SignedCharter {
    return charters.charterOfSubmission(this, submissionId);
  }

  /** The submission behind the app's latest charter other than this one's: what a reviewer diffs against. */
  previousApproved(
    submissionId: string,
  ): { submission: SubmissionRecord; charter_id: string; iat: number; exp: number } | null {
    return submissions.previousApproved(this, submissionId);
  }

  /** Record what an uploaded binary said about itself (never the binary), beside its submission. */
  recordBinary(input: {
    submissionId: string;
    kind: string;
    filename: string;
    size: number;
    sha256: string;
    facts: Record<string, unknown>;
  }): { binary_id: string } {
    return submissions.recordBinary(this, input);
  }

  /** Binaries recorded for a submission, oldest first. */
  binariesOf(submissionId: string): submissions.BinaryRecord[] {
    return submissions.binariesOf(this, submissionId);
  }

  /** Approve a pending submission and sign its charter. */
  approve(input: { submissionId: string; ttlS: number }): Promise<charters.SignedCharter> {
    return charters.approve(this, input);
  }

  /** Reject a pending submission, with the reason the publisher will read. */
  reject(input: { submissionId: string; reason: string }): { submission_id: string; status: 'rejected' } {
    return submissions.reject(this, input);
  }

  /** Apps with their publisher, latest submission status and latest charter. */
  listApps(): AppRow[] {
    return submissions.listApps(this);
  }

  /** Submissions, newest first, optionally only those with one status. */
  listSubmissions(status?: string): SubmissionRecord[] {
    return submissions.listSubmissions(this, status);
  }

  // ---- revocations (ops/revocations.ts) ----

  /** Record a revocation; it appears in every license issued from now on, for every site. */
  revoke(input: { kind: 'charter' | 'app' | 'instance'; target: string; reason: string }): {
    revocation_id: string;
    kind: string;
    target: string;
  } {
    return revocations.revoke(this, input);
  }

  /** All revocations, oldest first. */
  listRevocations(): {
    id: string;
    kind: string;
    target: string;
    reason: string;
    revoked_by: string;
    revoked_at: number;
  }[] {
    return revocations.listRevocations(this);
  }

  /** Issue a revocation update for a site: the full current set, the next serial, on its latest license. */
  issueRevocations(input: { siteId: string; ttlS?: number }): Promise<revocations.RevocationUpdate> {
    return revocations.issueRevocations(this, input);
  }

  /** A revocation update as issued (the compact JWS), or not_found. */
  revocationsToken(id: string): { revocations_id: string; site_id: string; serial: number; token: string } {
    return revocations.revocationsToken(this, id);
  }

  /** Where each site stands with revocations (behind, latest update, installed per its reports). */
  revocationStatus(): revocations.RevocationStanding[] {
    return revocations.revocationStatus(this);
  }

  /** Issue a revocation update to every site whose latest license or update lacks a revocation in force. */
  issueRevocationsToBehind(ttlS?: number): Promise<revocations.RevocationUpdate[]> {
    return revocations.issueRevocationsToBehind(this, ttlS);
  }

  // ---- sites and licenses (ops/licenses.ts) ----

  /** Add a site: one customer installation that will receive licenses. */
  addSite(input: { name: string }): { site_id: string } {
    return licenses.addSite(this, input);
  }

  /** Sites with their latest license serial and expiry. */
  listSites(): {
    site_id: string;
    name: string;
    licenses: number;
    latest_serial: number | null;
    latest_exp: number | null;
  }[] {
    return licenses.listSites(this);
  }

  /** The site's latest license claims, the vendor's current policy for it (undefined: no license yet). */
  latestLicense(siteId: string): LicenseClaims | undefined {
    return licenses.latestLicense(this, siteId);
  }

  /** Issue the next license of a site: serial strictly increases, every revocation is carried. */
  issueLicense(input: LicenseInput): Promise<licenses.IssuedLicense> {
    return licenses.issueLicense(this, input);
  }

  /** A license as issued (the compact JWS), or not_found. */
  licenseToken(licenseId: string): { license_id: string; site_id: string; serial: number; license: string } {
    return licenses.licenseToken(this, licenseId);
  }

  /** Licenses issued, newest first, optionally for one site. */
  listLicenses(siteId?: string): licenses.LicenseSummary[] {
    return licenses.listLicenses(this, siteId);
  }

  // ---- evidence (ops/reports.ts) ----

  /** Verify usage reports (see evidence.ts) and keep those that verify for later chain checks. */
  verifyReports(tokens: string[], attester?: VouchedLookup): Promise<ReportVerdict> {
    return reports.verifyReports(this, tokens, attester);
  }

  /** Where a charter, app or instance id comes from and which sites admit it. */
  trace(id: string): TraceResult {
    return reports.trace(this, id);
  }

  /** The decision record, oldest first. */
  listEvents(): VendorEvent[] {
    this.vendorId();
    return eventRows(this.db).map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
  }
}
