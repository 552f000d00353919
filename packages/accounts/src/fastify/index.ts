/**
 * @charter/accounts/fastify — the web-accounts layer as one Fastify plugin, shared by the vendor
 * portal (@charter/portal) and the gateway's admin console (@charter/console). The primitives stay on
 * the main entry, which loads no Fastify.
 */
export { type Exposed, exposeError } from './expose.ts';
export {
  ORIGIN_ONLY,
  type SessionSource,
  SIGN_IN_BODY_LIMIT,
  sessionOf,
  signedIn,
  type WebAccountsOptions,
  webAccounts,
} from './plugin.ts';
export { refuse, type WebRefusal } from './refuse.ts';
export { ID_PARAMS, objectBody, str, strictValidator, strList } from './schema.ts';
