/**
 * @charter/portal — the vendor portal's backend: the Fastify plugin (API + SPA over the issuer's
 * records, with the shared web-accounts layer) and the stand-alone server `charter vendor serve` runs.
 */
export { type Change, diffSubmissions } from './diff.ts';
export { charterPortal, PORTAL_COOKIE, type PortalPluginOptions } from './plugin.ts';
export { MAX_UPLOAD_BYTES } from './routes/binaries.ts';
export { CONTENT_SECURITY_POLICY, type Portal, type PortalOptions, startPortal } from './server.ts';
