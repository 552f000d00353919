/**
 * The operations listener of a gateway run as workers (`gateway start --workers N`), served by the
 * supervising process: `/charter/metrics` is every worker's registry summed (prom-client's
 * AggregatorRegistry), since a scrape answered by one worker would show only its share of the
 * traffic; the probes answer for all workers. Same paths and refusals as the single-process
 * listener in server.ts.
 */

import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { operationsApp } from '../operations-listener.ts';

/** One worker's metrics, as `registry.getMetricsAsJSON()` gives them. */
export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** What the supervisor can ask its workers. */
export interface WorkersProbe {
  /** Every live worker's metrics. */
  metrics(): Promise<WorkerMetrics[]>;
  /** Every live worker's readiness: `ok`, or the code of why not. */
  ready(): Promise<{ ok: boolean; reason?: string }[]>;
}

/**
 * Sum the workers' metrics. Counters and histograms add up; a gauge is one value of the whole
 * gateway (license serial, expiry, clock mark), so it takes the highest, except `charter_backend_up`,
 * which is down when any worker's backend is.
 */
export async function aggregateWorkerMetrics(
  all: readonly WorkerMetrics[],
): Promise<{ contentType: string; body: string }> {
  const marked = all.map((metrics) =>
    metrics.map((m) =>
      String(m.type) === 'gauge' ? { ...m, aggregator: m.name === 'charter_backend_up' ? 'min' : 'max' } : m,
    ),
  );
  const registry = AggregatorRegistry.aggregate(marked as never);
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** Serve the workers' operations endpoints on `listen` (port 0 picks one); resolves to its URL. */
export async function startWorkersOperations(
  listen: { host: string; port: number },
  probe: WorkersProbe,
): Promise<{ url: string; close(): Promise<void> }> {
  const ops = operationsApp();
  ops.get('/charter/healthz', async () => ({ status: 'ok' }));
  ops.get('/charter/readyz', async (_request, reply) => {
    const all = await probe.ready();
    const notReady = all.find((r) => !r.ok);
    if (all.length > 0 && !notReady) return { status: 'ready' };
    return reply.code(503).send({
      error: notReady?.reason ?? 'unavailable',
      error_description: 'The gateway cannot decide requests now.',
    });
  });
  ops.get('/charter/metrics', async (_request, reply) => {
    const m = await aggregateWorkerMetrics(await probe.metrics());
    return reply.header('content-type', m.contentType).send(m.body);
  });
  await ops.listen({ host: listen.host, port: listen.port });
  const address = ops.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return { url: `http://${host}:${port}`, close: () => ops.close() };
}
