/**
 * `@charter/gateway/fastify` — library mode for Fastify hosts. Loads Fastify's plugin helper and the
 * engine, nothing else: the host builds the engine with `createGateway` (from `@charter/gateway`) on
 * the store it picked (`@charter/gateway/sqlite`, `/pg`, or its own `GatewayStore`).
 */
export { type CharterFastifyOptions, charterFastify } from '../fastify-plugin.ts';
