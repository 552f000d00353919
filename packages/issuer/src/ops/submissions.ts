/**
 * Publishers and what they submit: checking every field a charter will carry before it is stored,
 * the review queue, rejection, and what uploaded binaries said. Approval (which signs) is charters.ts.
 */
import {
  BUNDLE_ID,
  CharterError,
  type CharterPlatforms,
  isCanonicalOrigin,
  newId,
  SCOPE,
  TEAM_ID,
} from '@charter/core';
import * as store from '../store/catalogue.ts';
import { latestOtherCharter } from '../store/charters.ts';
import type { AppRow, SubmissionInput, SubmissionRecord } from '../types.ts';
import { invalid, now, record, reqId, type VendorContext, vendorIdOf } from './context.ts';

/**
 * Normalise a SHA-256 certificate digest: accepts 64 hex digits, optionally colon-separated and in
 * either case (as `keytool` and `apksigner` print them); returns lowercase hex or undefined.
 */
export function normaliseCertDigest(text: string): string | undefined {
  const hex = text.trim().replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** Add a publisher: the vendor itself or a third party whose apps the vendor reviews. */
export function addPublisher(ctx: VendorContext, input: { name: string }): { publisher_id: string } {
  vendorIdOf(ctx);
  const name = input.name.trim();
  if (!name) invalid('ERR_NAME', 'a publisher needs a name');
  const id = newId('pub');
  ctx.db.transaction(() => {
    store.insertPublisher(ctx.db, { id, name, createdAt: now() });
    record(ctx, 'publisher.add', id, { name });
  })();
  return { publisher_id: id };
}

/** Publishers, oldest first. */
export function listPublishers(ctx: VendorContext): { id: string; name: string; created_at: number }[] {
  vendorIdOf(ctx);
  return store.publisherRows(ctx.db);
}

/** One publisher, or not_found. */
export function publisher(ctx: VendorContext, id: string): { id: string; name: string } {
  const row = store.publisherById(ctx.db, reqId(id, 'publisher'));
  if (!row) throw new CharterError('not_found', 'ERR_UNKNOWN_PUBLISHER', `there is no publisher ${id}`);
  return row;
}

/** The platforms a submission declares, each checked; bad input is `invalid_request`. */
function platformsOf(input: SubmissionInput): CharterPlatforms {
  const platforms: CharterPlatforms = {};
  if (input.webOrigins && input.webOrigins.length > 0) {
    const origins = input.webOrigins.map((o) => o.trim().replace(/\/$/, ''));
    for (const o of origins)
      if (!isCanonicalOrigin(o))
        invalid('ERR_ORIGIN', `${JSON.stringify(o)} is not a web origin like https://app.example.com`);
    platforms.web = { origins: [...new Set(origins)] };
  }
  const certs = input.androidCertSha256 ?? [];
  if (input.androidPackage !== undefined || certs.length > 0) {
    if (!input.androidPackage || !BUNDLE_ID.test(input.androidPackage))
      invalid('ERR_ANDROID_PACKAGE', 'an Android app needs --android-package like com.example.app');
    if (certs.length === 0)
      invalid('ERR_ANDROID_CERT', 'an Android app needs at least one --android-cert-sha256');
    const digests = certs.map(
      (c) =>
        normaliseCertDigest(c) ??
        invalid(
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
      invalid('ERR_IOS_TEAM', 'an iOS app needs --ios-team-id of ten letters or digits');
    if (!input.iosBundleId || !BUNDLE_ID.test(input.iosBundleId))
      invalid('ERR_IOS_BUNDLE', 'an iOS app needs --ios-bundle-id like com.example.app');
    platforms.ios = { team_id: input.iosTeamId as string, bundle_id: input.iosBundleId as string };
  }
  if (input.server) platforms.server = {};
  if (Object.keys(platforms).length === 0) {
    invalid(
      'ERR_PLATFORMS',
      'name at least one platform: --web-origin, --android-package, --ios-team-id/--ios-bundle-id or --server',
    );
  }
  return platforms;
}

/** Record a submission after checking every field a charter will carry. */
export function submitApp(
  ctx: VendorContext,
  input: SubmissionInput,
): { submission_id: string; app_id: string } {
  vendorIdOf(ctx);
  const pub = publisher(ctx, input.publisherId);
  const name = input.name.trim();
  if (!name || name.length > 200) invalid('ERR_NAME', 'the app needs a name of at most 200 characters');
  if (input.scopes.length === 0)
    invalid('ERR_SCOPES', 'the app needs at least one scope (--scopes a:read,a:write)');
  for (const s of input.scopes)
    if (!SCOPE.test(s)) invalid('ERR_SCOPES', `${JSON.stringify(s)} is not a valid scope`);
  const platforms = platformsOf(input);
  let attestation: SubmissionRecord['attestation'] = null;
  if (input.attestation) {
    attestation = {};
    if (platforms.android) attestation.android = input.attestation;
    if (platforms.ios) attestation.ios = input.attestation;
  }
  const version = (input.version ?? '1').trim();
  if (!version || version.length > 64) invalid('ERR_VERSION', 'the version must have 1 to 64 characters');
  const submissionId = newId('sub');
  let appId = input.appId;
  ctx.db.transaction(() => {
    if (appId) {
      const app = store.appPublisher(ctx.db, reqId(appId, 'app'));
      if (!app) throw new CharterError('not_found', 'ERR_UNKNOWN_APP', `there is no app ${appId}`);
      // Another publisher's app: a fact about the records, not a malformed request.
      if (app.publisher_id !== pub.id)
        throw new CharterError('conflict', 'ERR_APP_PUBLISHER', `app ${appId} belongs to another publisher`);
      store.renameApp(ctx.db, appId, name);
    } else {
      appId = newId('app');
      store.insertApp(ctx.db, { id: appId, publisherId: pub.id, name, createdAt: now() });
    }
    store.insertSubmission(ctx.db, {
      id: submissionId,
      appId,
      publisherId: pub.id,
      name,
      version,
      scopes: JSON.stringify([...new Set(input.scopes)]),
      platforms: JSON.stringify(platforms),
      attestation: attestation ? JSON.stringify(attestation) : null,
      notes: input.notes ?? null,
      submittedBy: ctx.actor.name,
      submittedAt: now(),
    });
    record(ctx, 'app.submit', submissionId, {
      app_id: appId,
      publisher_id: pub.id,
      version,
      platforms: Object.keys(platforms),
    });
  })();
  return { submission_id: submissionId, app_id: appId as string };
}

/** One submission, or not_found. */
export function submission(ctx: VendorContext, id: string): SubmissionRecord {
  const row = store.submissionRow(ctx.db, reqId(id, 'submission'));
  if (!row) throw new CharterError('not_found', 'ERR_UNKNOWN_SUBMISSION', `there is no submission ${id}`);
  return {
    ...(row as unknown as SubmissionRecord),
    scopes: JSON.parse(row.scopes as string),
    platforms: JSON.parse(row.platforms as string),
    attestation: row.attestation ? JSON.parse(row.attestation as string) : null,
  };
}

/** Refuse to decide a submission twice. */
export function requirePending(sub: SubmissionRecord): void {
  if (sub.status !== 'pending') {
    throw new CharterError(
      'conflict',
      'ERR_DECIDED',
      `submission ${sub.id} was already ${sub.status} by ${sub.decided_by}`,
    );
  }
}

/** Reject a pending submission, with the reason the publisher will read. */
export function reject(
  ctx: VendorContext,
  input: { submissionId: string; reason: string },
): { submission_id: string; status: 'rejected' } {
  vendorIdOf(ctx);
  const reason = input.reason.trim();
  if (!reason) invalid('ERR_REASON', 'a rejection needs a --reason');
  const sub = submission(ctx, input.submissionId);
  requirePending(sub);
  ctx.db.transaction(() => {
    store.decideSubmission(ctx.db, { id: sub.id, status: 'rejected', by: ctx.actor.name, at: now(), reason });
    record(ctx, 'app.reject', sub.id, { app_id: sub.app_id, reason });
  })();
  return { submission_id: sub.id, status: 'rejected' };
}

/**
 * The submission behind the app's latest charter other than this submission's own: what a reviewer
 * diffs a new version against. Null for an app never approved before.
 */
export function previousApproved(
  ctx: VendorContext,
  submissionId: string,
): { submission: SubmissionRecord; charter_id: string; iat: number; exp: number } | null {
  const sub = submission(ctx, submissionId);
  const row = latestOtherCharter(ctx.db, sub.app_id, sub.id);
  if (!row) return null;
  return { submission: submission(ctx, row.submission_id), charter_id: row.id, iat: row.iat, exp: row.exp };
}

/** Apps with their publisher, latest submission status and latest charter. */
export function listApps(ctx: VendorContext): AppRow[] {
  vendorIdOf(ctx);
  return store.appRows(ctx.db).map((r) => ({ ...(r as unknown as AppRow), revoked: r.revoked === 1 }));
}

/** Submissions, newest first, optionally only those with one status. */
export function listSubmissions(ctx: VendorContext, status?: string): SubmissionRecord[] {
  vendorIdOf(ctx);
  return store.submissionIds(ctx.db, status).map((id) => submission(ctx, id));
}

/** A binary's record as the portal shows it (a type alias, so it stays assignable to a plain record). */
export type BinaryRecord = {
  id: string;
  kind: string;
  filename: string;
  size: number;
  sha256: string;
  facts: Record<string, unknown>;
  uploaded_by: string;
  uploaded_at: number;
};

/** Record what an uploaded binary said about itself (never the binary), beside its submission. */
export function recordBinary(
  ctx: VendorContext,
  input: {
    submissionId: string;
    kind: string;
    filename: string;
    size: number;
    sha256: string;
    facts: Record<string, unknown>;
  },
): { binary_id: string } {
  const sub = submission(ctx, input.submissionId);
  const id = newId('bin');
  ctx.db.transaction(() => {
    store.insertBinary(ctx.db, {
      id,
      submissionId: sub.id,
      kind: input.kind,
      filename: input.filename.slice(0, 200),
      size: input.size,
      sha256: input.sha256,
      facts: JSON.stringify(input.facts),
      uploadedBy: ctx.actor.name,
      uploadedAt: now(),
    });
    record(ctx, 'submission.binary', sub.id, { kind: input.kind, sha256: input.sha256, size: input.size });
  })();
  return { binary_id: id };
}

/** Binaries recorded for a submission, oldest first. */
export function binariesOf(ctx: VendorContext, submissionId: string): BinaryRecord[] {
  const sub = submission(ctx, submissionId);
  return store
    .binaryRows(ctx.db, sub.id)
    .map((r) => ({ ...r, facts: JSON.parse(r.facts as string) }) as unknown as BinaryRecord);
}
