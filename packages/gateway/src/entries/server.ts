/**
 * `@charter/gateway/server` — proxy mode: a Fastify server in front of an upstream, streaming through
 * an undici pool. The store is the caller's (`@charter/gateway/sqlite`, `/pg`, or `/backends`).
 */
export {
  type GatewayPlugin,
  type RunningGateway,
  type StartGatewayOptions,
  startGateway,
} from '../server.ts';
export {
  aggregateWorkerMetrics,
  startWorkersOperations,
  type WorkerMetrics,
  type WorkersProbe,
} from '../workers/operations.ts';
