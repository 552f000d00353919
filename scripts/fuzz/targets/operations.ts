/**
 * The gateway's operations listener (`--metrics-listen`: `/charter/metrics` and the probes again),
 * driven over real loopback sockets to a real proxy-mode gateway started with it. It takes no bodies,
 * so what faces the network is node's HTTP parser, the router and the not-found and framework-error
 * answers: every method, request target, header and body a client could send it must get `ok_200`
 * or a catalogued refusal, never a 5xx or Fastify's own `{"error":"Bad Request"}`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import { pino } from 'pino';
import { mutateText, nastyString } from '../bytes.ts';
import { type HttpInput, mutateBody, mutateHeaders, mutatePath, send, wireAgent } from '../http.ts';
import type { Rng } from '../rng.ts';
import type { Harness, Target } from '../target.ts';
import { makeWorld } from '../world.ts';

const PATHS = ['/charter/metrics', '/charter/healthz', '/charter/readyz', '/metrics', '/', '/charter/'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'get', 'M-SEARCH'];

export const operations: Target = {
  name: 'operations',
  about: "the gateway's operations listener (/charter/metrics and the probes) over sockets",
  async setup(seed): Promise<Harness<HttpInput>> {
    const w = await makeWorld(seed);
    const dir = mkdtempSync(join(tmpdir(), 'charter-fuzz-ops-'));
    const store = new SqliteStore(join(dir, 'gateway.db'));
    const upstream = createServer((_req, res) => res.writeHead(200).end('{}'));
    upstream.keepAliveTimeout = 0;
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const gw = await startGateway({
      trust: w.trust,
      store,
      license: w.license,
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      licensePollMs: 0,
      usageFlushMs: 0,
      logger: pino({ level: 'silent' }),
      metricsListen: { host: '127.0.0.1', port: 0 },
    } as never);
    if (!gw.metricsUrl) throw new Error('the gateway started without its operations listener');
    const base = new URL(gw.metricsUrl).origin;
    const agent = wireAgent();
    const seeds: HttpInput[] = PATHS.slice(0, 3).flatMap((url) => [
      { method: 'GET', url, headers: {} },
      { method: 'HEAD', url, headers: {} },
    ]);
    // Each seed answers 200 before the campaign starts, or the target is not what it claims to fuzz.
    for (const s of seeds) {
      const outcome = await send(agent, base, s);
      if (outcome !== 'ok_200') throw new Error(`${s.method} ${s.url} answered ${outcome}, not ok_200`);
    }
    return {
      seeds,
      generate(rng: Rng): HttpInput {
        const s = rng.pick(seeds);
        const r = rng.int(100);
        if (r < 5) return s;
        const method = rng.chance(0.7) ? s.method : rng.pick(METHODS);
        const url = rng.chance(0.2)
          ? rng.pick(PATHS)
          : rng.chance(0.9)
            ? mutatePath(rng, rng.pick(PATHS))
            : mutateText(rng, s.url);
        let headers: Record<string, string | string[]> = rng.chance(0.5)
          ? { accept: rng.pick(['*/*', 'application/openmetrics-text', 'text/plain', nastyString(rng)]) }
          : {};
        for (let i = rng.int(3); i > 0; i--) headers = mutateHeaders(rng, headers);
        const input: HttpInput = { method, url, headers };
        if (rng.chance(0.15)) {
          const b = mutateBody(rng, { a: 1 });
          input.body = b.body;
          if (b.type !== undefined) input.headers['content-type'] = b.type;
        }
        return input;
      },
      run: (input) => send(agent, base, input),
      async close() {
        agent.destroy();
        await gw.close();
        await store.close();
        await new Promise<void>((r) => upstream.close(() => r()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
