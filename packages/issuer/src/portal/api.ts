/**
 * The portal's JSON API. Each route names the roles it allows and calls the {@link Vendor} engine with
 * the signed-in user as the actor (email and role), so the decision record says who decided. Bodies
 * are checked by JSON schema (no extra properties, no coercion); uploads are raw bytes.
 */
import { createHash } from 'node:crypto';
import { type BinaryFacts, compareBinary, inspectBinary } from '@charter/binaries';
import { CharterError, decodeJsonSegment, parseDuration, type ReportClaims } from '@charter/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { VendorDb } from '../db.ts';
import { actorName, type PortalSession, type Role, type Users } from '../users.ts';
import { type SubmissionRecord, Vendor } from '../vendor.ts';
import { SIGN_IN_ROUTE } from './csrf.ts';
import { diffSubmissions } from './diff.ts';
import { refuse } from './refuse.ts';

/** What the server hands the API: the account store and the cookie and role gate. */
export interface ApiAuth {
  users: Users;
  require(req: FastifyRequest, roles: readonly Role[]): PortalSession;
  setCookie(reply: FastifyReply, value: string, maxAge: number): void;
  sessionMaxAge: number;
}

/** Largest APK or IPA accepted for inspection. */
export const MAX_UPLOAD_BYTES = 300 * 1024 * 1024;

const ID_PARAM = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9._:~-]{1,128}$' } },
  required: ['id'],
} as const;
const str = (max: number, min = 0) => ({ type: 'string', minLength: min, maxLength: max }) as const;
const strList = (max: number, item: number) =>
  ({ type: 'array', maxItems: max, items: str(item, 1) }) as const;

const SUBMIT_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'scopes'],
  properties: {
    name: str(200, 1),
    scopes: strList(100, 200),
    appId: str(128, 1),
    version: str(64, 1),
    notes: str(4000),
    webOrigins: strList(50, 300),
    androidPackage: str(255, 1),
    androidCertSha256: strList(20, 200),
    iosTeamId: str(10, 1),
    iosBundleId: str(255, 1),
    server: { type: 'boolean' },
    attestation: { type: 'string', enum: ['required', 'optional'] },
  },
} as const;

interface SubmitBody {
  name: string;
  scopes: string[];
  appId?: string;
  version?: string;
  notes?: string;
  webOrigins?: string[];
  androidPackage?: string;
  androidCertSha256?: string[];
  iosTeamId?: string;
  iosBundleId?: string;
  server?: boolean;
  attestation?: 'required' | 'optional';
}

function ttl(text: string, max: number): number {
  const s = parseDuration(text);
  if (s === undefined || s <= 0)
    throw new CharterError(
      'invalid_request',
      'ERR_TTL',
      `${JSON.stringify(text.slice(0, 40))} is not a duration like 180d`,
    );
  if (s > max) throw new CharterError('invalid_request', 'ERR_TTL', 'that duration is too long');
  return s;
}

/** Register every /api route on `app`. */
export function registerApi(app: FastifyInstance, db: VendorDb, auth: ApiAuth): void {
  const vendorFor = (s: PortalSession): Vendor => new Vendor(db, { name: actorName(s.user) });
  const reader = new Vendor(db, { name: 'portal' });

  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: MAX_UPLOAD_BYTES },
    (_req, body, done) => done(null, body),
  );

  // ---- session ----
  app.get('/api/session', async (req) => {
    const s = auth.require(req, ['publisher', 'reviewer', 'admin']);
    return { user: s.user, csrf: s.csrf, vendor: reader.vendorName() };
  });

  app.post<{ Body: { email: string; password: string } }>(
    '/api/session',
    {
      config: SIGN_IN_ROUTE,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'password'],
          properties: { email: str(254, 1), password: str(1024, 1) },
        },
      },
    },
    async (req, reply) => {
      const s = await auth.users.signIn({ email: req.body.email, password: req.body.password, ip: req.ip });
      auth.setCookie(reply, s.sessionId, auth.sessionMaxAge);
      return { user: s.user, csrf: s.csrf, vendor: reader.vendorName() };
    },
  );

  app.delete('/api/session', async (req, reply) => {
    await auth.users.signOut(req.headers.cookie ? sessionCookie(req) : undefined);
    auth.setCookie(reply, '', 0);
    return reply.status(204).send();
  });
  const sessionCookie = (req: FastifyRequest): string | undefined => {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [k, v] = part.trim().split('=');
      if (k?.endsWith('charter_session')) return v;
    }
    return undefined;
  };

  // ---- publisher ----
  const ownSubmission = (s: PortalSession, id: string): SubmissionRecord => {
    const sub = reader.submission(id);
    // Another publisher's submission does not exist, as far as this account can tell.
    if (sub.publisher_id !== s.user.publisher_id) refuse('not_found', `there is no submission ${id}`);
    return sub;
  };

  app.get('/api/publisher/apps', async (req) => {
    const s = auth.require(req, ['publisher']);
    const apps = reader.listApps().filter((a) => a.publisher_id === s.user.publisher_id);
    const submissions = reader.listSubmissions().filter((x) => x.publisher_id === s.user.publisher_id);
    return {
      apps,
      submissions: submissions.map((x) => ({
        ...x,
        binaries: reader.binariesOf(x.id).map((b) => withChecks(b, x)),
      })),
    };
  });

  app.post<{ Body: SubmitBody }>(
    '/api/publisher/submissions',
    { schema: { body: SUBMIT_BODY } },
    async (req) => {
      const s = auth.require(req, ['publisher']);
      return vendorFor(s).submitApp({ ...req.body, publisherId: s.user.publisher_id as string });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/publisher/submissions/:id/charter',
    { schema: { params: ID_PARAM } },
    async (req, reply) => {
      const s = auth.require(req, ['publisher']);
      const sub = ownSubmission(s, req.params.id);
      const c = reader.charterOfSubmission(sub.id);
      return reply
        .header('Content-Type', 'application/jwt')
        .header('Content-Disposition', `attachment; filename="${c.app_id}.charter"`)
        .send(c.charter);
    },
  );

  // ---- binaries (publisher for their own submissions, reviewer for any) ----
  const upload = async (
    req: FastifyRequest<{ Params: { id: string } }>,
    sub: SubmissionRecord,
    s: PortalSession,
  ) => {
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
    const { binary_id } = vendorFor(s).recordBinary({
      submissionId: sub.id,
      kind: facts.kind,
      filename,
      size: body.length,
      sha256,
      facts: facts as unknown as Record<string, unknown>,
    });
    return { binary_id, filename, size: body.length, sha256, facts, checks: compareBinary(facts, sub) };
  };
  const uploadOpts = { schema: { params: ID_PARAM }, bodyLimit: MAX_UPLOAD_BYTES } as const;

  app.post<{ Params: { id: string } }>('/api/publisher/submissions/:id/binary', uploadOpts, async (req) => {
    const s = auth.require(req, ['publisher']);
    return upload(req, ownSubmission(s, req.params.id), s);
  });
  app.post<{ Params: { id: string } }>('/api/review/submissions/:id/binary', uploadOpts, async (req) => {
    const s = auth.require(req, ['reviewer']);
    return upload(req, reader.submission(req.params.id), s);
  });

  // ---- reviewer ----
  app.get('/api/review/queue', async (req) => {
    auth.require(req, ['reviewer']);
    const names = new Map(reader.listPublishers().map((p) => [p.id, p.name]));
    return {
      submissions: reader
        .listSubmissions('pending')
        .map((x) => ({ ...x, publisher: names.get(x.publisher_id) ?? null })),
      decided: reader
        .listSubmissions()
        .filter((x) => x.status !== 'pending')
        .slice(0, 50)
        .map((x) => ({ ...x, publisher: names.get(x.publisher_id) ?? null })),
    };
  });

  app.get<{ Params: { id: string } }>(
    '/api/review/submissions/:id',
    { schema: { params: ID_PARAM } },
    async (req) => {
      auth.require(req, ['reviewer']);
      const sub = reader.submission(req.params.id);
      const previous = reader.previousApproved(sub.id);
      const publisher = reader.listPublishers().find((p) => p.id === sub.publisher_id);
      return {
        submission: sub,
        publisher: publisher ?? null,
        previous: previous
          ? {
              submission: previous.submission,
              charter_id: previous.charter_id,
              iat: previous.iat,
              exp: previous.exp,
            }
          : null,
        changes: diffSubmissions(previous?.submission ?? null, sub),
        binaries: reader.binariesOf(sub.id).map((b) => withChecks(b, sub)),
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { ttl: string } }>(
    '/api/review/submissions/:id/approve',
    {
      schema: {
        params: ID_PARAM,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['ttl'],
          properties: { ttl: str(20, 1) },
        },
      },
    },
    async (req) => {
      const s = auth.require(req, ['reviewer']);
      const r = await vendorFor(s).approve({
        submissionId: req.params.id,
        ttlS: ttl(req.body.ttl, 5 * 366 * 86400),
      });
      return { charter_id: r.charter_id, app_id: r.app_id, exp: r.exp };
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/api/review/submissions/:id/reject',
    {
      schema: {
        params: ID_PARAM,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: { reason: str(2000, 1) },
        },
      },
    },
    async (req) => {
      const s = auth.require(req, ['reviewer']);
      return vendorFor(s).reject({ submissionId: req.params.id, reason: req.body.reason });
    },
  );

  // ---- admin ----
  app.get('/api/admin/overview', async (req) => {
    auth.require(req, ['admin']);
    return {
      sites: reader.listSites(),
      apps: reader.listApps(),
      licenses: reader.listLicenses(),
      revocations: reader.listRevocations(),
      revocation_status: reader.revocationStatus(),
      users: auth.users.list(),
      publishers: reader.listPublishers(),
    };
  });

  // People: after the first admin (made on the command line) everyone else is added here.
  app.post<{ Body: { name: string } }>(
    '/api/admin/publishers',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: str(200, 1) },
        },
      },
    },
    async (req) => vendorFor(auth.require(req, ['admin'])).addPublisher({ name: req.body.name }),
  );

  app.post<{ Body: { email: string; role: Role; password: string; publisherId?: string } }>(
    '/api/admin/users',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'role', 'password'],
          properties: {
            email: str(254, 3),
            role: { type: 'string', enum: ['publisher', 'reviewer', 'admin'] },
            password: str(1024, 1),
            publisherId: str(128, 1),
          },
        },
      },
    },
    async (req) => {
      const s = auth.require(req, ['admin']);
      return auth.users.add({ ...req.body, actor: actorName(s.user) });
    },
  );

  app.post<{ Body: { name: string } }>(
    '/api/admin/sites',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: str(200, 1) },
        },
      },
    },
    async (req) => vendorFor(auth.require(req, ['admin'])).addSite({ name: req.body.name }),
  );

  app.post<{
    Body: {
      siteId: string;
      appIds: string[];
      ttl: string;
      mode?: 'enforce' | 'monitor';
      activation?: string;
    };
  }>(
    '/api/admin/licenses',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['siteId', 'appIds', 'ttl'],
          properties: {
            siteId: str(128, 1),
            appIds: { ...strList(500, 128), minItems: 1 },
            ttl: str(20, 1),
            mode: { type: 'string', enum: ['enforce', 'monitor'] },
            activation: str(65536, 1),
          },
        },
      },
    },
    async (req) => {
      const s = auth.require(req, ['admin']);
      const r = await vendorFor(s).issueLicense({
        siteId: req.body.siteId,
        appIds: req.body.appIds,
        ttlS: ttl(req.body.ttl, 5 * 366 * 86400),
        mode: req.body.mode ?? 'enforce',
        ...(req.body.activation ? { activation: req.body.activation.trim() } : {}),
      });
      return { license_id: r.license_id, serial: r.serial, exp: r.exp };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/admin/licenses/:id/download',
    { schema: { params: ID_PARAM } },
    async (req, reply) => {
      auth.require(req, ['admin']);
      const l = reader.licenseToken(req.params.id);
      return reply
        .header('Content-Type', 'application/jwt')
        .header('Content-Disposition', `attachment; filename="${l.site_id}-${l.serial}.license"`)
        .send(l.license);
    },
  );

  app.post<{ Body: { kind: 'charter' | 'app' | 'instance'; target: string; reason: string } }>(
    '/api/admin/revocations',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'target', 'reason'],
          properties: {
            kind: { type: 'string', enum: ['charter', 'app', 'instance'] },
            target: str(128, 1),
            reason: str(2000, 1),
          },
        },
      },
    },
    async (req) => vendorFor(auth.require(req, ['admin'])).revoke(req.body),
  );

  // One click: a revocation update (charter-revocations+jwt) for every site that is behind.
  app.post<{ Body: { ttl?: string } }>(
    '/api/admin/revocations/updates',
    {
      schema: {
        body: { type: 'object', additionalProperties: false, properties: { ttl: str(20, 1) } },
      },
    },
    async (req) => {
      const s = auth.require(req, ['admin']);
      const ttlS = req.body.ttl === undefined ? undefined : ttl(req.body.ttl, 30 * 86400);
      const issued = await vendorFor(s).issueRevocationsToBehind(ttlS);
      return {
        updates: issued.map((u) => ({
          revocations_id: u.revocations_id,
          site_id: u.site_id,
          serial: u.serial,
          license_serial: u.license_serial,
          exp: u.exp,
        })),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/admin/revocations/updates/:id/download',
    { schema: { params: ID_PARAM } },
    async (req, reply) => {
      auth.require(req, ['admin']);
      const u = reader.revocationsToken(req.params.id);
      return reply
        .header('Content-Type', 'application/jwt')
        .header('Content-Disposition', `attachment; filename="${u.site_id}-${u.serial}.revocations"`)
        .send(u.token);
    },
  );

  app.post<{ Body: { reports: string[] } }>(
    '/api/admin/reports',
    {
      bodyLimit: 20 * 1024 * 1024,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reports'],
          properties: { reports: { type: 'array', minItems: 1, maxItems: 1000, items: str(65536, 1) } },
        },
      },
    },
    async (req) => {
      const s = auth.require(req, ['admin']);
      const verdict = await vendorFor(s).verifyReports(req.body.reports);
      return { verdict, usage: usageBySite(req.body.reports, verdict.reports) };
    },
  );

  app.get('/api/admin/events', async (req) => {
    auth.require(req, ['admin']);
    return { events: reader.listEvents().slice(-500).reverse() };
  });
}

function withChecks(
  b: { facts: Record<string, unknown> } & Record<string, unknown>,
  sub: SubmissionRecord,
): Record<string, unknown> {
  return { ...b, checks: compareBinary(b.facts as unknown as BinaryFacts, sub) };
}

/**
 * Admitted and denied requests per site and per app, from the reports the engine found `ok` (only
 * verified reports count; their payload is read back for the per-site split the verdict does not give).
 */
function usageBySite(
  tokens: string[],
  findings: { file: number; status: string }[],
): {
  sites: Record<string, { admitted: number; denied: number }>;
  apps: Record<string, { admitted: number; denied: number; instances: number }>;
} {
  const sites: Record<string, { admitted: number; denied: number }> = {};
  const apps: Record<string, { admitted: number; denied: number; instances: number }> = {};
  for (const f of findings) {
    if (f.status !== 'ok') continue;
    const payload = tokens[f.file]?.trim().split('.')[1];
    if (!payload) continue;
    const claims = decodeJsonSegment(payload) as unknown as ReportClaims;
    for (const [app, u] of Object.entries(claims.apps ?? {})) {
      const denied = Object.values(u.denied ?? {}).reduce((a, b) => a + b, 0);
      const site = sites[claims.site] ?? { admitted: 0, denied: 0 };
      sites[claims.site] = site;
      site.admitted += u.admitted;
      site.denied += denied;
      const a = apps[app] ?? { admitted: 0, denied: 0, instances: 0 };
      apps[app] = a;
      a.admitted += u.admitted;
      a.denied += denied;
      a.instances = Math.max(a.instances, u.instances);
    }
  }
  return { sites, apps };
}
