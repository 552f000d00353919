/**
 * The shapes the vendor's operations take and give back: what the CLI and the portal pass in and
 * print. They are re-exported by vendor.ts (the facade) and the package entry.
 */
import type { AttestationPolicy, CharterPlatforms, LicenseClaims, LicenseMode } from '@charter/core';

/** Asks for the root key's passphrase when an operation needs the root key. */
export type PassphraseSource = (purpose: string) => Promise<string>;

/** Who is acting and when; the CLI fills it from the OS user, the portal from the session. */
export interface Actor {
  name: string;
}

/** What a publisher asks the vendor to approve. */
export interface SubmissionInput {
  publisherId: string;
  name: string;
  scopes: string[];
  /** Resubmit a new version of an existing app. */
  appId?: string;
  version?: string;
  notes?: string;
  webOrigins?: string[];
  androidPackage?: string;
  androidCertSha256?: string[];
  iosTeamId?: string;
  iosBundleId?: string;
  server?: boolean;
  attestation?: AttestationPolicy;
}

/** A submission as stored. */
export interface SubmissionRecord {
  id: string;
  app_id: string;
  publisher_id: string;
  name: string;
  version: string;
  scopes: string[];
  platforms: CharterPlatforms;
  attestation: { android?: AttestationPolicy; ios?: AttestationPolicy } | null;
  notes: string | null;
  status: 'pending' | 'approved' | 'rejected';
  submitted_by: string;
  submitted_at: number;
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
}

/** What a license admits and how. */
export interface LicenseInput {
  siteId: string;
  /**
   * The apps to admit. Absent: renew the site's latest license — the same apps minus revoked ones,
   * the same policy, attestation and binding (each overridable by the other fields), every revocation
   * in force. A renewal may end up admitting no app; an explicit empty list is refused.
   */
  appIds?: string[];
  /** Required for a first license; a renewal keeps the latest license's validity length by default. */
  ttlS?: number;
  mode?: LicenseMode;
  tokenTtlS?: number;
  proofSkewS?: number;
  ratePerInstancePerMin?: number;
  ratePerAppPerMin?: number;
  /** Attestation policy and updates for the site: extra roots, revoked serials, boot and level rules. */
  attestation?: LicenseClaims['attestation'];
  /** Hostile-operator policy (additive license fields): clock tolerance, rollback reaction, lapse grace. */
  clockToleranceS?: number;
  onClockRollback?: 'refuse' | 'warn';
  graceS?: number;
  /** Registration rate limits (additive license field `policy.register_rate`). */
  registerPerCharterPerMin?: number;
  registerPerAddressPerMin?: number;
  /** An activation request (`charter-activation+jwt`): bind the license to that installation. */
  activation?: string;
  /** Usage reports the site sent back; with `requireUnbrokenChain`, a broken chain refuses the renewal. */
  reports?: string[];
  requireUnbrokenChain?: boolean;
}

/** An app in the catalogue, with its latest submission and charter. */
export interface AppRow {
  app_id: string;
  name: string;
  publisher_id: string;
  publisher: string;
  status: string;
  latest_submission: string;
  charter_id: string | null;
  charter_exp: number | null;
  revoked: boolean;
}

/** One entry of the vendor's decision record. */
export interface VendorEvent {
  seq: number;
  at: number;
  actor: string;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}
