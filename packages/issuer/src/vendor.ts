/**
 * The vendor's operations: keys, publishers, submissions and approvals, sites, licenses and
 * revocations. The CLI and the portal are thin shells over this class; every decision is written to
 * the `events` record in the same transaction as the change it records.
 */
import {
  type AttestationPolicy,
  BUNDLE_ID,
  type CharterClaims,
  CharterError,
  type CharterPlatforms,
  decodeJsonSegment,
  exportPrivateKey,
  generateVendorKey,
  ID,
  importPrivateKey,
  isCanonicalOrigin,
  type KeyUse,
  type LicenseClaims,
  type LicensedApp,
  type LicenseMode,
  MAX_REVOCATIONS_TTL_S,
  newId,
  openSealedKey,
  type PublicJwk,
  type RevocationsClaims,
  SCOPE,
  type SealedKey,
  type SigningKey,
  sealPrivateKey,
  signCharter,
  signKeyDelegation,
  signLicense,
  signRevocations,
  TEAM_ID,
  type TrustDocument,
} from '@charter/core';
import type { VendorDb } from './db.ts';
import {
  checkVouched,
  type ReportVerdict,
  recordActivation,
  type TraceResult,
  trace,
  type VouchedLookup,
  verifyReports,
} from './evidence.ts';

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

/** A freshly made signing key and the root's delegation of it. */
interface NewSigningKey {
  key: Awaited<ReturnType<typeof generateVendorKey>>;
  use: KeyUse;
  nbf: number;
  exp: number;
  delegation: string;
}

/** Default validity of a delegated signing key: two years. */
export const DEFAULT_KEY_TTL_S = 2 * 365 * 86400;

const now = (): number => Math.floor(Date.now() / 1000);

/** Default validity of a revocation update: a week to carry it to the site and install it. */
export const DEFAULT_REVOCATIONS_TTL_S = 7 * 86400;

/** The `revoked` claim for a list of revocations: every one in force, grouped by kind. */
function revokedClaim(revocations: { kind: string; target: string }[]): LicenseClaims['revoked'] {
  const revoked: LicenseClaims['revoked'] = {};
  for (const kind of ['charter', 'app', 'instance'] as const) {
    const list = revocations.filter((r) => r.kind === kind).map((r) => r.target);
    if (list.length > 0) revoked[`${kind}s`] = list;
  }
  return revoked;
}

function revocationCounts(r: LicenseClaims['revoked']): {
  charters: number;
  apps: number;
  instances: number;
} {
  return {
    charters: r.charters?.length ?? 0,
    apps: r.apps?.length ?? 0,
    instances: r.instances?.length ?? 0,
  };
}

function reqId(value: string, what: string): string {
  if (!ID.test(value))
    throw new CharterError(
      'not_found',
      'ERR_ID',
      `${what} ${JSON.stringify(value.slice(0, 60))} is not a valid id`,
    );
  return value;
}

/**
 * Normalise a SHA-256 certificate digest: accepts 64 hex digits, optionally colon-separated and in
 * either case (as `keytool` and `apksigner` print them); returns lowercase hex or undefined.
 */
export function normaliseCertDigest(text: string): string | undefined {
  const hex = text.trim().replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** The vendor's state and operations over one database. */
export class Vendor {
  constructor(
    readonly db: VendorDb,
    readonly actor: Actor,
  ) {}

  /** The vendor id, or throws when `vendor init` has not run. */
  vendorId(): string {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'vendor_id'`).get() as
      | { value: string }
      | undefined;
    if (!row)
      throw new CharterError(
        'not_found',
        'ERR_NOT_INITIALISED',
        'this home has no vendor yet: run `charter vendor init` first',
      );
    return row.value;
  }

  /** The vendor's display name. */
  vendorName(): string {
    this.vendorId();
    return (this.db.prepare(`SELECT value FROM meta WHERE key = 'vendor_name'`).get() as { value: string })
      .value;
  }

  #event(action: string, subject: string, detail: Record<string, unknown> = {}): void {
    this.db
      .prepare('INSERT INTO events (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)')
      .run(now(), this.actor.name, action, subject, JSON.stringify(detail));
  }

  /** Create the vendor: a root key sealed under the passphrase, and delegated charter and license keys. */
  async init(input: {
    vendorId: string;
    name: string;
    passphrase: string;
    keyTtlS?: number;
  }): Promise<{ vendor_id: string; root_kid: string }> {
    if (!ID.test(input.vendorId)) {
      throw new CharterError(
        'conflict',
        'ERR_VENDOR_ID',
        'the vendor id may use letters, digits and . _ : ~ - (at most 128)',
      );
    }
    const existing = this.db.prepare(`SELECT value FROM meta WHERE key = 'vendor_id'`).get();
    if (existing) throw new CharterError('conflict', 'ERR_INITIALISED', 'this home already holds a vendor');
    const root = await generateVendorKey();
    const sealed = sealPrivateKey(exportPrivateKey(root.privateKey), root.publicJwk.kid, input.passphrase);
    const rootSigner: SigningKey = { kid: root.publicJwk.kid, privateKey: root.privateKey };
    const keys: NewSigningKey[] = [];
    // The attester key signs the online attester's tokens (README, "The vendor attester").
    for (const use of ['charter', 'license', 'attester'] as KeyUse[])
      keys.push(await this.#makeSigningKey(input.vendorId, use, rootSigner, input.keyTtlS));
    this.db.transaction(() => {
      const meta = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      meta.run('vendor_id', input.vendorId);
      meta.run('vendor_name', input.name);
      this.db
        .prepare('INSERT INTO root_keys (kid, public_jwk, sealed, created_at) VALUES (?, ?, ?, ?)')
        .run(root.publicJwk.kid, JSON.stringify(root.publicJwk), JSON.stringify(sealed), now());
      for (const k of keys) this.#insertSigningKey(k);
      this.#event('vendor.init', input.vendorId, { name: input.name, root_kid: root.publicJwk.kid });
    })();
    return { vendor_id: input.vendorId, root_kid: root.publicJwk.kid };
  }

  async #makeSigningKey(
    vendorId: string,
    use: KeyUse,
    root: SigningKey,
    ttlS = DEFAULT_KEY_TTL_S,
  ): Promise<NewSigningKey> {
    const key = await generateVendorKey();
    const nbf = now();
    const exp = nbf + ttlS;
    const delegation = await signKeyDelegation({ vendorId, jwk: key.publicJwk, use: [use], nbf, exp }, root);
    return { key, use, nbf, exp, delegation };
  }

  #insertSigningKey(k: NewSigningKey): void {
    this.db
      .prepare(
        'INSERT INTO signing_keys (kid, use, public_jwk, private_pkcs8, delegation, nbf, exp, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        k.key.publicJwk.kid,
        k.use,
        JSON.stringify(k.key.publicJwk),
        exportPrivateKey(k.key.privateKey),
        k.delegation,
        k.nbf,
        k.exp,
        now(),
      );
  }

  #rootSigner(passphrase: string): SigningKey {
    const row = this.db.prepare('SELECT kid, sealed FROM root_keys ORDER BY created_at DESC LIMIT 1').get() as
      | { kid: string; sealed: string | null }
      | undefined;
    if (!row) this.vendorId();
    if (!row?.sealed) {
      throw new CharterError(
        'key_unavailable',
        'ERR_ROOT_EXPORTED',
        'the root key is not in this home (exported): run `charter vendor keys import-root` first',
      );
    }
    const sealed = JSON.parse(row.sealed) as SealedKey;
    return { kid: row.kid, privateKey: importPrivateKey(openSealedKey(sealed, passphrase)) };
  }

  /** Make a new signing key for `use` (charter and/or license); older keys keep verifying until they expire. */
  async rotateKeys(input: {
    uses: KeyUse[];
    passphrase: string;
    keyTtlS?: number;
  }): Promise<{ keys: { kid: string; use: KeyUse; exp: number }[] }> {
    const vendorId = this.vendorId();
    const root = this.#rootSigner(input.passphrase);
    const made: NewSigningKey[] = [];
    for (const use of input.uses) made.push(await this.#makeSigningKey(vendorId, use, root, input.keyTtlS));
    this.db.transaction(() => {
      for (const k of made) {
        this.db
          .prepare('UPDATE signing_keys SET retired_at = ? WHERE use = ? AND retired_at IS NULL')
          .run(now(), k.use);
        this.#insertSigningKey(k);
        this.#event('keys.rotate', k.key.publicJwk.kid, { use: k.use, exp: k.exp });
      }
    })();
    return { keys: made.map((k) => ({ kid: k.key.publicJwk.kid, use: k.use, exp: k.exp })) };
  }

  /** The sealed root key for offline storage; with `remove`, it is deleted from this home. */
  exportRoot(input: { remove: boolean }): { sealed: SealedKey; removed: boolean } {
    this.vendorId();
    const row = this.db
      .prepare('SELECT kid, sealed FROM root_keys ORDER BY created_at DESC LIMIT 1')
      .get() as { kid: string; sealed: string | null };
    if (!row.sealed)
      throw new CharterError(
        'key_unavailable',
        'ERR_ROOT_EXPORTED',
        'the root key was already removed from this home',
      );
    this.db.transaction(() => {
      this.db.prepare('UPDATE root_keys SET exported_at = ? WHERE kid = ?').run(now(), row.kid);
      if (input.remove) this.db.prepare('UPDATE root_keys SET sealed = NULL WHERE kid = ?').run(row.kid);
      this.#event('keys.export-root', row.kid, { removed: input.remove });
    })();
    return { sealed: JSON.parse(row.sealed) as SealedKey, removed: input.remove };
  }

  /** Bring a sealed root key back into this home (it must be this vendor's root). */
  importRoot(sealed: SealedKey): { root_kid: string } {
    this.vendorId();
    const row = this.db.prepare('SELECT kid FROM root_keys WHERE kid = ?').get(sealed?.kid) as
      | { kid: string }
      | undefined;
    if (!row)
      throw new CharterError('conflict', 'ERR_ROOT_FOREIGN', 'that sealed key is not this vendor’s root key');
    this.db.transaction(() => {
      this.db.prepare('UPDATE root_keys SET sealed = ? WHERE kid = ?').run(JSON.stringify(sealed), row.kid);
      this.#event('keys.import-root', row.kid);
    })();
    return { root_kid: row.kid };
  }

  /** Signing keys with their use and validity, newest first. */
  listKeys(): { kid: string; use: string; nbf: number; exp: number; active: boolean }[] {
    this.vendorId();
    const rows = this.db
      .prepare('SELECT kid, use, nbf, exp, retired_at FROM signing_keys ORDER BY created_at DESC, rowid DESC')
      .all() as {
      kid: string;
      use: string;
      nbf: number;
      exp: number;
      retired_at: number | null;
    }[];
    return rows.map((r) => ({
      kid: r.kid,
      use: r.use,
      nbf: r.nbf,
      exp: r.exp,
      active: r.retired_at === null,
    }));
  }

  #activeKey(use: KeyUse): SigningKey & { exp: number } {
    const row = this.db
      .prepare(
        'SELECT kid, private_pkcs8, exp FROM signing_keys WHERE use = ? AND retired_at IS NULL ORDER BY created_at DESC, rowid DESC LIMIT 1',
      )
      .get(use) as { kid: string; private_pkcs8: Buffer; exp: number } | undefined;
    if (!row)
      throw new CharterError(
        'key_unavailable',
        'ERR_NO_KEY',
        `there is no active ${use} signing key: run \`charter vendor keys rotate\``,
      );
    if (row.exp <= now()) {
      throw new CharterError(
        'key_unavailable',
        'ERR_KEY_EXPIRED',
        `the ${use} signing key has expired: run \`charter vendor keys rotate\``,
      );
    }
    return { kid: row.kid, privateKey: importPrivateKey(row.private_pkcs8), exp: row.exp };
  }

  /** The active attester signing key (`vendor attester serve`), refusing with `key_unavailable`. */
  attesterKey(): SigningKey & { exp: number } {
    this.vendorId();
    return this.#activeKey('attester');
  }

  /** The public JWK of a signing key. */
  publicJwkOf(kid: string): PublicJwk {
    const row = this.db.prepare('SELECT public_jwk FROM signing_keys WHERE kid = ?').get(kid) as
      | { public_jwk: string }
      | undefined;
    if (!row) throw new CharterError('not_found', 'ERR_UNKNOWN_KEY', `there is no signing key ${kid}`);
    return JSON.parse(row.public_jwk) as PublicJwk;
  }

  /** Every key delegation still valid: what a key ring needs to verify this vendor's charters. */
  delegations(): string[] {
    return (
      this.db.prepare('SELECT delegation FROM signing_keys WHERE exp > ? ORDER BY created_at').all(now()) as {
        delegation: string;
      }[]
    ).map((r) => r.delegation);
  }

  /** The site's latest license claims, the vendor's current policy for it (undefined: no license yet). */
  latestLicense(siteId: string): LicenseClaims | undefined {
    return this.#latestLicenseClaims(siteId);
  }

  /** The trust document: the vendor id and its root public keys (a JWK Set). */
  trustDocument(): TrustDocument {
    const vendor_id = this.vendorId();
    const rows = this.db.prepare('SELECT public_jwk FROM root_keys ORDER BY created_at').all() as {
      public_jwk: string;
    }[];
    return { vendor_id, keys: rows.map((r) => JSON.parse(r.public_jwk) as PublicJwk) };
  }

  /** Add a publisher: the vendor itself or a third party whose apps the vendor reviews. */
  addPublisher(input: { name: string }): { publisher_id: string } {
    this.vendorId();
    const name = input.name.trim();
    if (!name) throw new CharterError('conflict', 'ERR_NAME', 'a publisher needs a name');
    const id = newId('pub');
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO publishers (id, name, created_at) VALUES (?, ?, ?)').run(id, name, now());
      this.#event('publisher.add', id, { name });
    })();
    return { publisher_id: id };
  }

  /** Publishers, oldest first. */
  listPublishers(): { id: string; name: string; created_at: number }[] {
    this.vendorId();
    return this.db
      .prepare('SELECT id, name, created_at FROM publishers ORDER BY created_at, rowid')
      .all() as never;
  }

  #publisher(id: string): { id: string; name: string } {
    const row = this.db.prepare('SELECT id, name FROM publishers WHERE id = ?').get(reqId(id, 'publisher')) as
      | { id: string; name: string }
      | undefined;
    if (!row) throw new CharterError('not_found', 'ERR_UNKNOWN_PUBLISHER', `there is no publisher ${id}`);
    return row;
  }

  /** Record a submission after checking every field a charter will carry. */
  submitApp(input: SubmissionInput): { submission_id: string; app_id: string } {
    this.vendorId();
    const publisher = this.#publisher(input.publisherId);
    const name = input.name.trim();
    const refuse = (detail: string, why: string): never => {
      throw new CharterError('conflict', detail, why);
    };
    if (!name || name.length > 200) refuse('ERR_NAME', 'the app needs a name of at most 200 characters');
    if (input.scopes.length === 0)
      refuse('ERR_SCOPES', 'the app needs at least one scope (--scopes a:read,a:write)');
    for (const s of input.scopes)
      if (!SCOPE.test(s)) refuse('ERR_SCOPES', `${JSON.stringify(s)} is not a valid scope`);
    const platforms: CharterPlatforms = {};
    if (input.webOrigins && input.webOrigins.length > 0) {
      const origins = input.webOrigins.map((o) => o.trim().replace(/\/$/, ''));
      for (const o of origins)
        if (!isCanonicalOrigin(o))
          refuse('ERR_ORIGIN', `${JSON.stringify(o)} is not a web origin like https://app.example.com`);
      platforms.web = { origins: [...new Set(origins)] };
    }
    const certs = input.androidCertSha256 ?? [];
    if (input.androidPackage !== undefined || certs.length > 0) {
      if (!input.androidPackage || !BUNDLE_ID.test(input.androidPackage))
        refuse('ERR_ANDROID_PACKAGE', 'an Android app needs --android-package like com.example.app');
      if (certs.length === 0)
        refuse('ERR_ANDROID_CERT', 'an Android app needs at least one --android-cert-sha256');
      const digests = certs.map(
        (c) =>
          normaliseCertDigest(c) ??
          refuse(
            'ERR_ANDROID_CERT',
            `${JSON.stringify(c.slice(0, 100))} is not a SHA-256 certificate digest (64 hex digits)`,
          ),
      );
      platforms.android = {
        package_name: input.androidPackage as string,
        signing_cert_sha256: [...new Set(digests)],
      };
    }
    if (input.iosTeamId !== undefined || input.iosBundleId !== undefined) {
      if (!input.iosTeamId || !TEAM_ID.test(input.iosTeamId))
        refuse('ERR_IOS_TEAM', 'an iOS app needs --ios-team-id of ten letters or digits');
      if (!input.iosBundleId || !BUNDLE_ID.test(input.iosBundleId))
        refuse('ERR_IOS_BUNDLE', 'an iOS app needs --ios-bundle-id like com.example.app');
      platforms.ios = { team_id: input.iosTeamId as string, bundle_id: input.iosBundleId as string };
    }
    if (input.server) platforms.server = {};
    if (Object.keys(platforms).length === 0) {
      refuse(
        'ERR_PLATFORMS',
        'name at least one platform: --web-origin, --android-package, --ios-team-id/--ios-bundle-id or --server',
      );
    }
    let attestation: SubmissionRecord['attestation'] = null;
    if (input.attestation) {
      attestation = {};
      if (platforms.android) attestation.android = input.attestation;
      if (platforms.ios) attestation.ios = input.attestation;
    }
    const version = (input.version ?? '1').trim();
    if (!version || version.length > 64) refuse('ERR_VERSION', 'the version must have 1 to 64 characters');
    const submissionId = newId('sub');
    let appId = input.appId;
    this.db.transaction(() => {
      if (appId) {
        const app = this.db.prepare('SELECT publisher_id FROM apps WHERE id = ?').get(reqId(appId, 'app')) as
          | { publisher_id: string }
          | undefined;
        if (!app) throw new CharterError('not_found', 'ERR_UNKNOWN_APP', `there is no app ${appId}`);
        if (app.publisher_id !== publisher.id)
          refuse('ERR_APP_PUBLISHER', `app ${appId} belongs to another publisher`);
        this.db.prepare('UPDATE apps SET name = ? WHERE id = ?').run(name, appId);
      } else {
        appId = newId('app');
        this.db
          .prepare('INSERT INTO apps (id, publisher_id, name, created_at) VALUES (?, ?, ?, ?)')
          .run(appId, publisher.id, name, now());
      }
      this.db
        .prepare(
          `INSERT INTO submissions (id, app_id, publisher_id, name, version, scopes, platforms, attestation, notes, status, submitted_by, submitted_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
        )
        .run(
          submissionId,
          appId,
          publisher.id,
          name,
          version,
          JSON.stringify([...new Set(input.scopes)]),
          JSON.stringify(platforms),
          attestation ? JSON.stringify(attestation) : null,
          input.notes ?? null,
          this.actor.name,
          now(),
        );
      this.#event('app.submit', submissionId, {
        app_id: appId,
        publisher_id: publisher.id,
        version,
        platforms: Object.keys(platforms),
      });
    })();
    return { submission_id: submissionId, app_id: appId as string };
  }

  /** One submission, or not_found. */
  submission(id: string): SubmissionRecord {
    const row = this.db.prepare('SELECT * FROM submissions WHERE id = ?').get(reqId(id, 'submission')) as
      | Record<string, unknown>
      | undefined;
    if (!row) throw new CharterError('not_found', 'ERR_UNKNOWN_SUBMISSION', `there is no submission ${id}`);
    return {
      ...(row as unknown as SubmissionRecord),
      scopes: JSON.parse(row.scopes as string),
      platforms: JSON.parse(row.platforms as string),
      attestation: row.attestation ? JSON.parse(row.attestation as string) : null,
    };
  }

  /** The charter signed when a submission was approved (the compact JWS), or not_found. */
  charterOfSubmission(submissionId: string): {
    charter_id: string;
    app_id: string;
    exp: number;
    charter: string;
  } {
    const sub = this.submission(submissionId);
    const row = this.db
      .prepare(
        'SELECT id, app_id, exp, token FROM charters WHERE submission_id = ? ORDER BY iat DESC LIMIT 1',
      )
      .get(sub.id) as { id: string; app_id: string; exp: number; token: string } | undefined;
    if (!row)
      throw new CharterError(
        'not_found',
        'ERR_NO_CHARTER',
        `submission ${sub.id} has no charter (status ${sub.status})`,
      );
    return { charter_id: row.id, app_id: row.app_id, exp: row.exp, charter: row.token };
  }

  /**
   * The submission behind the app's latest charter other than this submission's own: what a reviewer
   * diffs a new version against. Null for an app never approved before.
   */
  previousApproved(
    submissionId: string,
  ): { submission: SubmissionRecord; charter_id: string; iat: number; exp: number } | null {
    const sub = this.submission(submissionId);
    const row = this.db
      .prepare(
        'SELECT id, submission_id, iat, exp FROM charters WHERE app_id = ? AND submission_id <> ? ORDER BY iat DESC, rowid DESC LIMIT 1',
      )
      .get(sub.app_id, sub.id) as { id: string; submission_id: string; iat: number; exp: number } | undefined;
    if (!row) return null;
    return { submission: this.submission(row.submission_id), charter_id: row.id, iat: row.iat, exp: row.exp };
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
    const sub = this.submission(input.submissionId);
    const id = newId('bin');
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO submission_binaries (id, submission_id, kind, filename, size, sha256, facts, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          id,
          sub.id,
          input.kind,
          input.filename.slice(0, 200),
          input.size,
          input.sha256,
          JSON.stringify(input.facts),
          this.actor.name,
          now(),
        );
      this.#event('submission.binary', sub.id, { kind: input.kind, sha256: input.sha256, size: input.size });
    })();
    return { binary_id: id };
  }

  /** Binaries recorded for a submission, oldest first. */
  binariesOf(submissionId: string): {
    id: string;
    kind: string;
    filename: string;
    size: number;
    sha256: string;
    facts: Record<string, unknown>;
    uploaded_by: string;
    uploaded_at: number;
  }[] {
    const sub = this.submission(submissionId);
    return (
      this.db
        .prepare('SELECT * FROM submission_binaries WHERE submission_id = ? ORDER BY uploaded_at, rowid')
        .all(sub.id) as Record<string, unknown>[]
    ).map((r) => ({ ...r, facts: JSON.parse(r.facts as string) }) as never);
  }

  /** A license as issued (the compact JWS), or not_found. */
  licenseToken(licenseId: string): { license_id: string; site_id: string; serial: number; license: string } {
    this.vendorId();
    const row = this.db
      .prepare('SELECT id, site_id, serial, token FROM licenses WHERE id = ?')
      .get(reqId(licenseId, 'license')) as
      | { id: string; site_id: string; serial: number; token: string }
      | undefined;
    if (!row) throw new CharterError('not_found', 'ERR_UNKNOWN_LICENSE', `there is no license ${licenseId}`);
    return { license_id: row.id, site_id: row.site_id, serial: row.serial, license: row.token };
  }

  /** Approve a pending submission and sign its charter. */
  async approve(input: {
    submissionId: string;
    ttlS: number;
  }): Promise<{ charter_id: string; app_id: string; exp: number; charter: string }> {
    const vendorId = this.vendorId();
    const sub = this.submission(input.submissionId);
    if (sub.status !== 'pending') {
      throw new CharterError(
        'conflict',
        'ERR_DECIDED',
        `submission ${sub.id} was already ${sub.status} by ${sub.decided_by}`,
      );
    }
    const key = this.#activeKey('charter');
    const iat = now();
    const exp = iat + input.ttlS;
    if (exp > key.exp) {
      throw new CharterError(
        'key_unavailable',
        'ERR_KEY_TOO_SHORT',
        'the charter would outlive its signing key: choose a shorter --ttl or run `charter vendor keys rotate`',
      );
    }
    const publisher = this.#publisher(sub.publisher_id);
    const claims: CharterClaims = {
      iss: vendorId,
      sub: sub.app_id,
      jti: newId('chr'),
      iat,
      nbf: iat,
      exp,
      publisher: { id: publisher.id, name: publisher.name },
      client_name: sub.name,
      software_id: sub.app_id,
      software_version: sub.version,
      scopes: sub.scopes,
      platforms: sub.platforms,
      ...(sub.attestation ? { attestation: sub.attestation } : {}),
    };
    const charter = await signCharter(claims, key);
    this.db.transaction(() => {
      const changed = this.db
        .prepare(
          `UPDATE submissions SET status = 'approved', decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'`,
        )
        .run(this.actor.name, iat, sub.id).changes;
      if (changed !== 1)
        throw new CharterError('conflict', 'ERR_DECIDED', `submission ${sub.id} was decided meanwhile`);
      this.db
        .prepare(
          'INSERT INTO charters (id, app_id, submission_id, kid, iat, exp, token, approved_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(claims.jti, sub.app_id, sub.id, key.kid, iat, exp, charter, this.actor.name);
      this.#event('app.approve', sub.id, { app_id: sub.app_id, charter_id: claims.jti, exp });
    })();
    return { charter_id: claims.jti, app_id: sub.app_id, exp, charter };
  }

  /** Reject a pending submission, with the reason the publisher will read. */
  reject(input: { submissionId: string; reason: string }): { submission_id: string; status: 'rejected' } {
    this.vendorId();
    const reason = input.reason.trim();
    if (!reason) throw new CharterError('conflict', 'ERR_REASON', 'a rejection needs a --reason');
    const sub = this.submission(input.submissionId);
    if (sub.status !== 'pending') {
      throw new CharterError(
        'conflict',
        'ERR_DECIDED',
        `submission ${sub.id} was already ${sub.status} by ${sub.decided_by}`,
      );
    }
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE submissions SET status = 'rejected', decided_by = ?, decided_at = ?, reason = ? WHERE id = ? AND status = 'pending'`,
        )
        .run(this.actor.name, now(), reason, sub.id);
      this.#event('app.reject', sub.id, { app_id: sub.app_id, reason });
    })();
    return { submission_id: sub.id, status: 'rejected' };
  }

  /** Apps with their publisher, latest submission status and latest charter. */
  listApps(): AppRow[] {
    this.vendorId();
    return (
      this.db
        .prepare(
          `SELECT a.id AS app_id, a.name, a.publisher_id, p.name AS publisher,
             (SELECT status FROM submissions s WHERE s.app_id = a.id ORDER BY submitted_at DESC, rowid DESC LIMIT 1) AS status,
             (SELECT id FROM submissions s WHERE s.app_id = a.id ORDER BY submitted_at DESC, rowid DESC LIMIT 1) AS latest_submission,
             (SELECT id FROM charters c WHERE c.app_id = a.id ORDER BY iat DESC, rowid DESC LIMIT 1) AS charter_id,
             (SELECT exp FROM charters c WHERE c.app_id = a.id ORDER BY iat DESC, rowid DESC LIMIT 1) AS charter_exp,
             EXISTS (SELECT 1 FROM revocations r WHERE r.kind = 'app' AND r.target = a.id) AS revoked
           FROM apps a JOIN publishers p ON p.id = a.publisher_id ORDER BY a.created_at, a.rowid`,
        )
        .all() as Record<string, unknown>[]
    ).map((r) => ({ ...(r as unknown as AppRow), revoked: r.revoked === 1 }));
  }

  /** Submissions, newest first, optionally only those with one status. */
  listSubmissions(status?: string): SubmissionRecord[] {
    this.vendorId();
    const rows = (
      status
        ? this.db
            .prepare('SELECT id FROM submissions WHERE status = ? ORDER BY submitted_at DESC, rowid DESC')
            .all(status)
        : this.db.prepare('SELECT id FROM submissions ORDER BY submitted_at DESC, rowid DESC').all()
    ) as { id: string }[];
    return rows.map((r) => this.submission(r.id));
  }

  /** Record a revocation; it appears in every license issued from now on, for every site. */
  revoke(input: { kind: 'charter' | 'app' | 'instance'; target: string; reason: string }): {
    revocation_id: string;
    kind: string;
    target: string;
  } {
    this.vendorId();
    const reason = input.reason.trim();
    if (!reason) throw new CharterError('conflict', 'ERR_REASON', 'a revocation needs a --reason');
    reqId(input.target, input.kind);
    if (
      input.kind === 'charter' &&
      !this.db.prepare('SELECT 1 FROM charters WHERE id = ?').get(input.target)
    ) {
      throw new CharterError('not_found', 'ERR_UNKNOWN_CHARTER', `there is no charter ${input.target}`);
    }
    if (input.kind === 'app' && !this.db.prepare('SELECT 1 FROM apps WHERE id = ?').get(input.target)) {
      throw new CharterError('not_found', 'ERR_UNKNOWN_APP', `there is no app ${input.target}`);
    }
    if (
      this.db.prepare('SELECT 1 FROM revocations WHERE kind = ? AND target = ?').get(input.kind, input.target)
    ) {
      throw new CharterError('conflict', 'ERR_REVOKED', `${input.kind} ${input.target} is already revoked`);
    }
    const id = newId('rev');
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO revocations (id, kind, target, reason, revoked_by, revoked_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(id, input.kind, input.target, reason, this.actor.name, now());
      this.#event('revoke', input.target, { kind: input.kind, reason, revocation_id: id });
    })();
    return { revocation_id: id, kind: input.kind, target: input.target };
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
    this.vendorId();
    return this.db
      .prepare(
        'SELECT id, kind, target, reason, revoked_by, revoked_at FROM revocations ORDER BY revoked_at, rowid',
      )
      .all() as never;
  }

  /** Add a site: one customer installation that will receive licenses. */
  addSite(input: { name: string }): { site_id: string } {
    this.vendorId();
    const name = input.name.trim();
    if (!name) throw new CharterError('conflict', 'ERR_NAME', 'a site needs a name');
    const id = newId('site');
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO sites (id, name, created_at) VALUES (?, ?, ?)').run(id, name, now());
      this.#event('site.add', id, { name });
    })();
    return { site_id: id };
  }

  /** Sites with their latest license serial and expiry. */
  listSites(): {
    site_id: string;
    name: string;
    licenses: number;
    latest_serial: number | null;
    latest_exp: number | null;
  }[] {
    this.vendorId();
    return this.db
      .prepare(
        `SELECT s.id AS site_id, s.name, COUNT(l.id) AS licenses, MAX(l.serial) AS latest_serial,
           (SELECT exp FROM licenses x WHERE x.site_id = s.id ORDER BY serial DESC LIMIT 1) AS latest_exp
         FROM sites s LEFT JOIN licenses l ON l.site_id = s.id GROUP BY s.id ORDER BY s.created_at, s.rowid`,
      )
      .all() as never;
  }

  /** The claims of a site's latest license (our own signed copy), or undefined. */
  #latestLicenseClaims(siteId: string): LicenseClaims | undefined {
    const row = this.db
      .prepare('SELECT token FROM licenses WHERE site_id = ? ORDER BY serial DESC LIMIT 1')
      .get(siteId) as { token: string } | undefined;
    return row ? (decodeJsonSegment(row.token.split('.')[1] ?? '') as unknown as LicenseClaims) : undefined;
  }

  /** The next serial of a site: one sequence for its licenses and its revocation updates. */
  #nextSerial(siteId: string): number {
    const row = this.db
      .prepare(
        `SELECT MAX(s) AS s FROM (SELECT MAX(serial) AS s FROM licenses WHERE site_id = ?
           UNION ALL SELECT MAX(serial) AS s FROM revocation_updates WHERE site_id = ?)`,
      )
      .get(siteId, siteId) as { s: number | null };
    return (row.s ?? 0) + 1;
  }

  /**
   * Issue a revocation update for a site (`charter-revocations+jwt`): the full current revocation set,
   * the next serial of the site's sequence, on top of its latest license, valid `ttlS` (default 7 days,
   * at most 30) for installation. Nothing of the license's terms changes.
   */
  async issueRevocations(input: { siteId: string; ttlS?: number }): Promise<{
    revocations_id: string;
    site_id: string;
    serial: number;
    license_serial: number;
    exp: number;
    revoked: LicenseClaims['revoked'];
    token: string;
  }> {
    const vendorId = this.vendorId();
    const site = this.db.prepare('SELECT id FROM sites WHERE id = ?').get(reqId(input.siteId, 'site')) as
      | { id: string }
      | undefined;
    if (!site) throw new CharterError('not_found', 'ERR_UNKNOWN_SITE', `there is no site ${input.siteId}`);
    const ttlS = input.ttlS ?? DEFAULT_REVOCATIONS_TTL_S;
    if (!Number.isSafeInteger(ttlS) || ttlS < 60 || ttlS > MAX_REVOCATIONS_TTL_S)
      throw new CharterError(
        'conflict',
        'ERR_TTL',
        'a revocation update is valid from 1 minute to 30 days (--ttl)',
      );
    const revoked = revokedClaim(this.listRevocations());
    const t = now();
    const key = this.#activeKey('license');
    const exp = t + ttlS;
    if (exp > key.exp)
      throw new CharterError(
        'key_unavailable',
        'ERR_KEY_TOO_SHORT',
        'the revocation update would outlive its signing key: choose a shorter --ttl or run `charter vendor keys rotate`',
      );
    const keys = (
      this.db
        .prepare("SELECT delegation FROM signing_keys WHERE use = 'license' AND exp > ? ORDER BY created_at")
        .all(t) as { delegation: string }[]
    ).map((r) => r.delegation);
    for (let attempt = 0; ; attempt++) {
      const latest = this.#latestLicenseClaims(site.id);
      if (!latest)
        throw new CharterError(
          'conflict',
          'ERR_NO_LICENSE',
          `site ${site.id} has no license yet: issue its first license (a first license carries every revocation)`,
        );
      const serial = this.#nextSerial(site.id);
      const claims: RevocationsClaims = {
        iss: vendorId,
        sub: site.id,
        jti: newId('rvu'),
        serial,
        license_serial: latest.serial,
        iat: t,
        nbf: t,
        exp,
        revoked,
        keys,
      };
      const token = await signRevocations(claims, key);
      try {
        this.db.transaction(() => {
          if (this.#nextSerial(site.id) !== serial) throw new Error('UNIQUE: serial taken meanwhile');
          this.db
            .prepare(
              'INSERT INTO revocation_updates (id, site_id, serial, license_serial, iat, exp, revoked, token, issued_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            )
            .run(
              claims.jti,
              site.id,
              serial,
              latest.serial,
              t,
              exp,
              JSON.stringify(revoked),
              token,
              this.actor.name,
            );
          this.#event('revocations.issue', claims.jti, {
            site_id: site.id,
            serial,
            license_serial: latest.serial,
            exp,
            revoked: revocationCounts(revoked),
          });
        })();
        return {
          revocations_id: claims.jti,
          site_id: site.id,
          serial,
          license_serial: latest.serial,
          exp,
          revoked,
          token,
        };
      } catch (e) {
        if (attempt < 3 && e instanceof Error && /UNIQUE/.test(e.message)) continue;
        throw e;
      }
    }
  }

  /** A revocation update as issued (the compact JWS), or not_found. */
  revocationsToken(id: string): { revocations_id: string; site_id: string; serial: number; token: string } {
    this.vendorId();
    const row = this.db
      .prepare('SELECT id, site_id, serial, token FROM revocation_updates WHERE id = ?')
      .get(reqId(id, 'revocation update')) as
      | { id: string; site_id: string; serial: number; token: string }
      | undefined;
    if (!row)
      throw new CharterError('not_found', 'ERR_UNKNOWN_REVOCATIONS', `there is no revocation update ${id}`);
    return { revocations_id: row.id, site_id: row.site_id, serial: row.serial, token: row.token };
  }

  /**
   * Where each site stands with revocations: whether the latest artifact issued to it (license or
   * revocation update) carries every revocation in force (`behind` when not), its latest revocation
   * update, and — from the usage reports the site sent — whether that update was installed there
   * (a report with `revocations_serial`, or a `license_serial`, at or above it).
   */
  revocationStatus(): {
    site_id: string;
    name: string;
    latest_license_serial: number | null;
    behind: boolean;
    missing: number;
    update: { revocations_id: string; serial: number; exp: number; iat: number } | null;
    reported_serial: number | null;
    installed: boolean | null;
  }[] {
    this.vendorId();
    const inForce = this.listRevocations();
    const sites = this.db.prepare('SELECT id, name FROM sites ORDER BY created_at, rowid').all() as {
      id: string;
      name: string;
    }[];
    return sites.map((site) => {
      const license = this.db
        .prepare('SELECT serial, token FROM licenses WHERE site_id = ? ORDER BY serial DESC LIMIT 1')
        .get(site.id) as { serial: number; token: string } | undefined;
      const update = this.db
        .prepare(
          'SELECT id, serial, exp, iat, revoked FROM revocation_updates WHERE site_id = ? ORDER BY serial DESC LIMIT 1',
        )
        .get(site.id) as
        | { id: string; serial: number; exp: number; iat: number; revoked: string }
        | undefined;
      const newest =
        update && (!license || update.serial > license.serial)
          ? (JSON.parse(update.revoked) as LicenseClaims['revoked'])
          : license
            ? (decodeJsonSegment(license.token.split('.')[1] ?? '')?.revoked as LicenseClaims['revoked'])
            : undefined;
      const missing = newest
        ? inForce.filter((r) => !(newest[`${r.kind}s` as 'apps'] ?? []).includes(r.target)).length
        : 0;
      let reported: number | null = null;
      for (const r of this.db.prepare('SELECT token FROM reports WHERE site_id = ?').all(site.id) as {
        token: string;
      }[]) {
        const c = decodeJsonSegment(r.token.split('.')[1] ?? '');
        for (const v of [c?.license_serial, c?.revocations_serial])
          if (typeof v === 'number' && (reported === null || v > reported)) reported = v;
      }
      return {
        site_id: site.id,
        name: site.name,
        latest_license_serial: license?.serial ?? null,
        behind: license !== undefined && missing > 0,
        missing,
        update: update
          ? { revocations_id: update.id, serial: update.serial, exp: update.exp, iat: update.iat }
          : null,
        reported_serial: reported,
        installed: update ? reported !== null && reported >= update.serial : null,
      };
    });
  }

  /** Issue a revocation update to every site whose latest license or update lacks a revocation in force. */
  async issueRevocationsToBehind(ttlS?: number): Promise<Awaited<ReturnType<Vendor['issueRevocations']>>[]> {
    const out = [];
    for (const s of this.revocationStatus())
      if (s.behind) out.push(await this.issueRevocations({ siteId: s.site_id, ...(ttlS ? { ttlS } : {}) }));
    return out;
  }

  /** Issue the next license of a site: serial strictly increases, every revocation is carried. */
  async issueLicense(input: LicenseInput): Promise<{
    license_id: string;
    serial: number;
    exp: number;
    license: string;
    apps: string[];
    renewed_from: number | null;
    dropped: string[];
  }> {
    const vendorId = this.vendorId();
    const site = this.db
      .prepare('SELECT id, name FROM sites WHERE id = ?')
      .get(reqId(input.siteId, 'site')) as { id: string; name: string } | undefined;
    if (!site) throw new CharterError('not_found', 'ERR_UNKNOWN_SITE', `there is no site ${input.siteId}`);
    const revocations = this.listRevocations();
    const revokedApps = new Set(revocations.filter((r) => r.kind === 'app').map((r) => r.target));
    const revokedCharters = new Set(revocations.filter((r) => r.kind === 'charter').map((r) => r.target));
    const t = now();
    const renewal = input.appIds === undefined;
    const previous = renewal ? this.#latestLicenseClaims(site.id) : undefined;
    if (renewal && !previous)
      throw new CharterError(
        'conflict',
        'ERR_APPS',
        `site ${site.id} has no license to renew yet: name the apps of its first license (--apps A1,A2)`,
      );
    const rateOf = (old: LicensedApp['rate'] | undefined): LicensedApp['rate'] => {
      const rate: LicensedApp['rate'] = { ...(old ?? {}) };
      if (input.ratePerInstancePerMin) rate.per_instance_per_min = input.ratePerInstancePerMin;
      if (input.ratePerAppPerMin) rate.per_app_per_min = input.ratePerAppPerMin;
      return rate;
    };
    let apps: LicensedApp[];
    const dropped: string[] = [];
    if (previous) {
      // A renewal keeps each app's scopes and rates; revoked apps leave the allow-list.
      apps = [];
      for (const a of previous.apps) {
        if (revokedApps.has(a.app_id)) {
          dropped.push(a.app_id);
          continue;
        }
        const rate = rateOf(a.rate);
        const { rate: _old, ...rest } = a;
        apps.push(Object.keys(rate ?? {}).length > 0 ? { ...rest, rate } : rest);
      }
    } else {
      const appIds = [...new Set(input.appIds ?? [])];
      if (appIds.length === 0)
        throw new CharterError(
          'conflict',
          'ERR_APPS',
          'a new license must name the apps it admits (--apps A1,A2); to renew the latest one, leave --apps out',
        );
      apps = appIds.map((appId) => {
        reqId(appId, 'app');
        if (!this.db.prepare('SELECT 1 FROM apps WHERE id = ?').get(appId))
          throw new CharterError('not_found', 'ERR_UNKNOWN_APP', `there is no app ${appId}`);
        if (revokedApps.has(appId))
          throw new CharterError(
            'conflict',
            'ERR_APP_REVOKED',
            `app ${appId} is revoked and cannot be admitted again. To carry the revocation to site ${site.id}, renew its license without the app (\`charter vendor license issue --site ${site.id} --out FILE\`, no --apps: the same apps minus revoked ones) or send a revocation update at once (\`charter vendor revocations issue --site ${site.id} --out FILE\`)`,
          );
        if (!this.db.prepare('SELECT 1 FROM charters WHERE app_id = ? AND exp > ?').get(appId, t)) {
          throw new CharterError(
            'conflict',
            'ERR_APP_NOT_APPROVED',
            `app ${appId} has no approved, unexpired charter`,
          );
        }
        const rate = rateOf(undefined);
        return Object.keys(rate ?? {}).length > 0 ? { app_id: appId, rate } : { app_id: appId };
      });
    }
    // Browsers' origins come from the app's approved charters as they are now: a renewal refreshes them.
    apps = apps.map((a) => {
      const { web_origins: _stale, ...rest } = a;
      const webOrigins = this.#webOriginsOf(a.app_id, t, revokedCharters);
      return webOrigins.length > 0 ? { ...rest, web_origins: webOrigins } : rest;
    });
    const appIds = apps.map((a) => a.app_id);
    const ttlS = input.ttlS ?? (previous ? previous.exp - previous.nbf : undefined);
    if (ttlS === undefined || ttlS <= 0)
      throw new CharterError('conflict', 'ERR_TTL', 'a license needs a validity (--ttl 365d)');
    if (input.reports && input.reports.length > 0) {
      const verdict = await this.verifyReports(input.reports);
      if (input.requireUnbrokenChain && !verdict.ok) {
        throw new CharterError(
          'conflict',
          'ERR_REPORT_CHAIN',
          'the usage reports show gaps, forks, edits or foreign reports: run `charter vendor report verify` to see them',
        );
      }
    } else if (input.requireUnbrokenChain) {
      throw new CharterError(
        'conflict',
        'ERR_REPORT_CHAIN',
        'an unbroken report chain is required but no --report was given',
      );
    }
    let installationJkt: string | undefined = previous?.installation?.jkt;
    if (input.activation !== undefined) {
      const activation = await recordActivation(this.db, site.id, input.activation, t);
      installationJkt = activation.jkt;
      this.#event('site.activate', site.id, {
        jkt: activation.jkt,
        reactivation: activation.reactivation,
        previous: activation.previous,
      });
    }
    const key = this.#activeKey('license');
    const exp = t + ttlS;
    if (exp > key.exp) {
      throw new CharterError(
        'key_unavailable',
        'ERR_KEY_TOO_SHORT',
        'the license would outlive its signing key: choose a shorter --ttl or run `charter vendor keys rotate`',
      );
    }
    // Every delegation still valid goes in, so charters signed by an older charter key keep verifying.
    const keys = (
      this.db.prepare('SELECT delegation FROM signing_keys WHERE exp > ? ORDER BY created_at').all(t) as {
        delegation: string;
      }[]
    ).map((r) => r.delegation);
    const policy: LicenseClaims['policy'] = previous
      ? { ...previous.policy, ...(input.mode ? { mode: input.mode } : {}) }
      : { mode: input.mode ?? 'enforce' };
    if (input.tokenTtlS !== undefined) policy.token_ttl_s = input.tokenTtlS;
    if (input.proofSkewS !== undefined) policy.proof_skew_s = input.proofSkewS;
    if (input.clockToleranceS !== undefined) policy.clock_tolerance_s = input.clockToleranceS;
    if (input.onClockRollback !== undefined) policy.on_clock_rollback = input.onClockRollback;
    if (input.graceS !== undefined) policy.grace_s = input.graceS;
    if (input.registerPerCharterPerMin !== undefined || input.registerPerAddressPerMin !== undefined)
      policy.register_rate = {
        ...(input.registerPerCharterPerMin !== undefined
          ? { per_charter_per_min: input.registerPerCharterPerMin }
          : {}),
        ...(input.registerPerAddressPerMin !== undefined
          ? { per_address_per_min: input.registerPerAddressPerMin }
          : {}),
      };
    const revoked = revokedClaim(revocations);
    const attestation =
      input.attestation && Object.keys(input.attestation).length > 0
        ? input.attestation
        : previous?.attestation;
    // Signing is async, so the serial is claimed by the insert itself: UNIQUE (site_id, serial) and the
    // re-check against revocation updates (one sequence) turn a concurrent issue into a retry, never
    // into two artifacts with one serial.
    for (let attempt = 0; ; attempt++) {
      const serial = this.#nextSerial(site.id);
      const claims: LicenseClaims = {
        iss: vendorId,
        sub: site.id,
        jti: newId('lic'),
        serial,
        iat: t,
        nbf: t,
        exp,
        site: { id: site.id, name: site.name },
        ...(installationJkt ? { installation: { jkt: installationJkt } } : {}),
        keys,
        apps,
        revoked,
        policy,
        ...(attestation ? { attestation } : {}),
      };
      const license = await signLicense(claims, key);
      try {
        this.db.transaction(() => {
          if (this.#nextSerial(site.id) !== serial) throw new Error('UNIQUE: serial taken meanwhile');
          this.db
            .prepare(
              'INSERT INTO licenses (id, site_id, serial, iat, exp, apps, mode, installation_jkt, token, issued_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            )
            .run(
              claims.jti,
              site.id,
              serial,
              t,
              exp,
              JSON.stringify(appIds),
              policy.mode,
              installationJkt ?? null,
              license,
              this.actor.name,
            );
          this.#event('license.issue', claims.jti, {
            site_id: site.id,
            serial,
            apps: appIds,
            mode: policy.mode,
            exp,
            ...(previous ? { renewed_from: previous.serial, dropped } : {}),
          });
        })();
        return {
          license_id: claims.jti,
          serial,
          exp,
          license,
          apps: appIds,
          renewed_from: previous?.serial ?? null,
          dropped,
        };
      } catch (e) {
        if (attempt < 3 && e instanceof Error && /UNIQUE/.test(e.message)) continue;
        throw e;
      }
    }
  }

  /**
   * The web origins a license lists for an app: those of its approved charters that are unexpired and
   * not revoked, in approval order (the gateway's CORS allow-list comes from here, since a browser's
   * preflight arrives before any charter does).
   */
  #webOriginsOf(appId: string, t: number, revokedCharters: ReadonlySet<string>): string[] {
    const rows = this.db
      .prepare(
        `SELECT c.id, s.platforms FROM charters c JOIN submissions s ON s.id = c.submission_id
         WHERE c.app_id = ? AND c.exp > ? ORDER BY c.iat, c.rowid`,
      )
      .all(appId, t) as { id: string; platforms: string }[];
    const origins = new Set<string>();
    for (const row of rows) {
      if (revokedCharters.has(row.id)) continue;
      const platforms = JSON.parse(row.platforms) as CharterPlatforms;
      for (const o of platforms.web?.origins ?? []) origins.add(o);
    }
    // The license format caps an app's list at 50, like a charter's: the newest approvals win.
    return [...origins].slice(-50);
  }

  /** Verify usage reports (see evidence.ts) and keep those that verify for later chain checks. */
  async verifyReports(tokens: string[], attester?: VouchedLookup): Promise<ReportVerdict> {
    this.vendorId();
    const verdict = await verifyReports(this.db, tokens, now());
    if (attester) {
      // Only reports whose signature and installation verified count as the site's word.
      const ok = new Set(verdict.reports.filter((r) => r.status === 'ok').map((r) => r.file));
      const reports = tokens.flatMap((t, i) => {
        if (!ok.has(i)) return [];
        const claims = decodeJsonSegment(t.trim().split('.')[1] ?? '') as unknown as {
          site: string;
          instances?: Record<string, { app_id: string; charter_id: string; jkt?: string }>;
        };
        return [{ site: claims.site, instances: claims.instances }];
      });
      await checkVouched(this.db, verdict, reports, attester);
    }
    this.#event('report.verify', `${tokens.length} reports`, {
      ok: verdict.ok,
      gaps: verdict.gaps.length,
      forks: verdict.forks.length,
      ...(verdict.unvouched ? { unvouched: verdict.unvouched.length } : {}),
    });
    return verdict;
  }

  /** Where a charter, app or instance id comes from and which sites admit it. */
  trace(id: string): TraceResult {
    this.vendorId();
    return trace(this.db, reqId(id, 'id'));
  }

  /** Licenses issued, newest first, optionally for one site. */
  listLicenses(siteId?: string): {
    license_id: string;
    site_id: string;
    serial: number;
    iat: number;
    exp: number;
    apps: string[];
    mode: string;
    issued_by: string;
  }[] {
    this.vendorId();
    const rows = (
      siteId
        ? this.db
            .prepare('SELECT * FROM licenses WHERE site_id = ? ORDER BY iat DESC, serial DESC')
            .all(siteId)
        : this.db.prepare('SELECT * FROM licenses ORDER BY iat DESC, serial DESC').all()
    ) as Record<string, unknown>[];
    return rows.map((r) => ({
      license_id: r.id as string,
      site_id: r.site_id as string,
      serial: r.serial as number,
      iat: r.iat as number,
      exp: r.exp as number,
      apps: JSON.parse(r.apps as string) as string[],
      mode: r.mode as string,
      issued_by: r.issued_by as string,
    }));
  }

  /** The decision record, oldest first. */
  listEvents(): VendorEvent[] {
    this.vendorId();
    return (this.db.prepare('SELECT * FROM events ORDER BY seq').all() as Record<string, unknown>[]).map(
      (r) => ({
        ...(r as unknown as VendorEvent),
        detail: JSON.parse(r.detail as string),
      }),
    );
  }
}
