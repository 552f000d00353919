/** The reviewer's routes: the queue, a submission with its changes and binaries, approve and reject. */
import { ID_PARAMS, objectBody, str } from '@charter/accounts/fastify';
import type { FastifyInstance } from 'fastify';
import { type PortalContext, ttl } from '../context.ts';
import { diffSubmissions } from '../diff.ts';
import { UPLOAD_OPTIONS, upload, withChecks } from './binaries.ts';

/** Register the reviewer routes. */
export function reviewRoutes(app: FastifyInstance, ctx: PortalContext): void {
  app.post<{ Params: { id: string } }>('/api/review/submissions/:id/binary', UPLOAD_OPTIONS, async (req) => {
    const s = ctx.require(req, ['reviewer']);
    return upload(ctx, req, ctx.reader.submission(req.params.id), s);
  });

  app.get('/api/review/queue', async (req) => {
    ctx.require(req, ['reviewer']);
    const names = new Map(ctx.reader.listPublishers().map((p) => [p.id, p.name]));
    return {
      submissions: ctx.reader
        .listSubmissions('pending')
        .map((x) => ({ ...x, publisher: names.get(x.publisher_id) ?? null })),
      decided: ctx.reader
        .listSubmissions()
        .filter((x) => x.status !== 'pending')
        .slice(0, 50)
        .map((x) => ({ ...x, publisher: names.get(x.publisher_id) ?? null })),
    };
  });

  app.get<{ Params: { id: string } }>(
    '/api/review/submissions/:id',
    { schema: { params: ID_PARAMS } },
    async (req) => {
      ctx.require(req, ['reviewer']);
      const sub = ctx.reader.submission(req.params.id);
      const previous = ctx.reader.previousApproved(sub.id);
      const publisher = ctx.reader.listPublishers().find((p) => p.id === sub.publisher_id);
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
        binaries: ctx.reader.binariesOf(sub.id).map((b) => withChecks(b, sub)),
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { ttl: string } }>(
    '/api/review/submissions/:id/approve',
    {
      schema: {
        params: ID_PARAMS,
        body: objectBody({ ttl: str(20, 1) }, ['ttl']),
      },
    },
    async (req) => {
      const s = ctx.require(req, ['reviewer']);
      const r = await ctx.vendorFor(s).approve({
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
        params: ID_PARAMS,
        body: objectBody({ reason: str(2000, 1) }, ['reason']),
      },
    },
    async (req) => {
      const s = ctx.require(req, ['reviewer']);
      return ctx.vendorFor(s).reject({ submissionId: req.params.id, reason: req.body.reason });
    },
  );
}
