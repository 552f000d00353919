/** `@charter/gateway/pg` — the PostgreSQL store replicas share (loads `pg`). */
export { PG_MIGRATIONS } from '../pg-schema.ts';
export { PgStore, type PgStoreOptions } from '../pg-store.ts';
