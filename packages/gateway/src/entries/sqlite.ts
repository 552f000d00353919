/** `@charter/gateway/sqlite` — the embedded store of one replica (loads the native better-sqlite3). */
export { SqliteStore, type SqliteStoreOptions } from '../sqlite-store.ts';
