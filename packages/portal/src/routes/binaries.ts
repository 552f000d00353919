/** Uploaded APK/IPA files: the raw-bytes body, and what the upload records and answers. */
import { createHash } from 'node:crypto';
import { ID_PARAMS, refuse } from '@charter/accounts/fastify';
import { type BinaryFacts, compareBinary, inspectBinary } from '@charter/binaries';
import type { PortalSession, SubmissionRecord } from '@charter/issuer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PortalContext } from '../context.ts';

/** Largest APK or IPA accepted for inspection. */
export const MAX_UPLOAD_BYTES = 300 * 1024 * 1024;

/** Route options of an upload: `:id` of the submission, the body as raw bytes up to the limit. */
export const UPLOAD_OPTIONS = { schema: { params: ID_PARAMS }, bodyLimit: MAX_UPLOAD_BYTES } as const;

/** Uploads are raw bytes (application/octet-stream), not JSON. */
export function acceptUploads(app: FastifyInstance): void {
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: MAX_UPLOAD_BYTES },
    (_req, body, done) => done(null, body),
  );
}

/** Inspect and record an upload for `sub`, acting as `s`. */
export function upload(
  ctx: PortalContext,
  req: FastifyRequest<{ Params: { id: string } }>,
  sub: SubmissionRecord,
  s: PortalSession,
) {
  const body = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0)
    refuse('invalid_request', 'send the APK or IPA as the request body (application/octet-stream)');
  const facts = inspectBinary(body);
  const rawName = req.headers['x-filename'];
  let filename = `upload.${facts.kind}`;
  try {
    if (typeof rawName === 'string' && rawName) filename = decodeURIComponent(rawName);
  } catch {
    // A malformed %-escape: keep the default name rather than fail the upload.
  }
  filename = filename.replace(/[^\w.\- ]/g, '_').slice(0, 200);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const { binary_id } = ctx.vendorFor(s).recordBinary({
    submissionId: sub.id,
    kind: facts.kind,
    filename,
    size: body.length,
    sha256,
    facts: facts as unknown as Record<string, unknown>,
  });
  return { binary_id, filename, size: body.length, sha256, facts, checks: compareBinary(facts, sub) };
}

/** A recorded binary with its checks against the submission it was uploaded for. */
export function withChecks(
  b: { facts: Record<string, unknown> } & Record<string, unknown>,
  sub: SubmissionRecord,
): Record<string, unknown> {
  return { ...b, checks: compareBinary(b.facts as unknown as BinaryFacts, sub) };
}
