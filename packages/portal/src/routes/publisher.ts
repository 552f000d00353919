/** The publisher's routes: their apps and submissions, a submission's charter, binary uploads. */
import { ID_PARAMS, objectBody, refuse, str, strList } from '@charter/accounts/fastify';
import type { PortalSession, SubmissionRecord } from '@charter/issuer';
import type { FastifyInstance } from 'fastify';
import type { PortalContext } from '../context.ts';
import { UPLOAD_OPTIONS, upload, withChecks } from './binaries.ts';

const SUBMIT_BODY = objectBody(
  {
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
  ['name', 'scopes'],
);

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

/** Register the publisher routes. */
export function publisherRoutes(app: FastifyInstance, ctx: PortalContext): void {
  const ownSubmission = (s: PortalSession, id: string): SubmissionRecord => {
    const sub = ctx.reader.submission(id);
    // Another publisher's submission does not exist, as far as this account can tell.
    if (sub.publisher_id !== s.user.publisher_id) refuse('not_found', `there is no submission ${id}`);
    return sub;
  };

  app.get('/api/publisher/apps', async (req) => {
    const s = ctx.require(req, ['publisher']);
    const apps = ctx.reader.listApps().filter((a) => a.publisher_id === s.user.publisher_id);
    const submissions = ctx.reader.listSubmissions().filter((x) => x.publisher_id === s.user.publisher_id);
    return {
      apps,
      submissions: submissions.map((x) => ({
        ...x,
        binaries: ctx.reader.binariesOf(x.id).map((b) => withChecks(b, x)),
      })),
    };
  });

  app.post<{ Body: SubmitBody }>(
    '/api/publisher/submissions',
    { schema: { body: SUBMIT_BODY } },
    async (req) => {
      const s = ctx.require(req, ['publisher']);
      return ctx.vendorFor(s).submitApp({ ...req.body, publisherId: s.user.publisher_id as string });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/publisher/submissions/:id/charter',
    { schema: { params: ID_PARAMS } },
    async (req, reply) => {
      const s = ctx.require(req, ['publisher']);
      const sub = ownSubmission(s, req.params.id);
      const c = ctx.reader.charterOfSubmission(sub.id);
      return reply
        .header('Content-Type', 'application/jwt')
        .header('Content-Disposition', `attachment; filename="${c.app_id}.charter"`)
        .send(c.charter);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/publisher/submissions/:id/binary',
    UPLOAD_OPTIONS,
    async (req) => {
      const s = ctx.require(req, ['publisher']);
      return upload(ctx, req, ownSubmission(s, req.params.id), s);
    },
  );
}
