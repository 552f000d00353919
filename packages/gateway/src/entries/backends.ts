/**
 * `@charter/gateway/backends` — the store and cache named by the command line's `--home`, `--db` and
 * `--redis`. Only the driver a URL names is loaded, when it is opened.
 */
export {
  type BackendOptions,
  type Backends,
  isDbUrl,
  isRedisUrl,
  openBackends,
  sqlitePathOf,
} from '../backends.ts';
