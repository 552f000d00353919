/**
 * The audit hash chain: each entry commits to the previous one, so a deleted, reordered or edited
 * entry breaks every hash after it.
 */
import { sha256B64url } from './hash.ts';
import type { AuditEntry } from './store.ts';

/** The `prev` of the first entry. */
export const AUDIT_GENESIS = '';

/** The hash of an entry: base64url(SHA-256(prev || "." || entry JSON)). */
export function auditHash(prev: string, entry: string): string {
  return sha256B64url(`${prev}.${entry}`);
}

/** The result of {@link verifyAuditChain}: ok, or the first `seq` that does not follow. */
export type AuditChainResult =
  | { ok: true; entries: number; head: string }
  | { ok: false; entries: number; brokenAt: number; reason: string };

/**
 * Check a run of audit entries links up: consecutive `seq`, each `prev` the previous `hash`, each
 * `hash` recomputed. `from` is the hash the first entry must follow (genesis by default).
 */
export function verifyAuditChain(
  entries: readonly AuditEntry[],
  from: { seq: number; hash: string } = { seq: 0, hash: AUDIT_GENESIS },
): AuditChainResult {
  let prev = from.hash;
  let seq = from.seq;
  for (const e of entries) {
    if (e.seq !== seq + 1)
      return { ok: false, entries: entries.length, brokenAt: e.seq, reason: 'a sequence number is missing' };
    if (e.prev !== prev)
      return { ok: false, entries: entries.length, brokenAt: e.seq, reason: 'prev is not the previous hash' };
    if (auditHash(e.prev, e.entry) !== e.hash)
      return { ok: false, entries: entries.length, brokenAt: e.seq, reason: 'the entry was edited' };
    prev = e.hash;
    seq = e.seq;
  }
  return { ok: true, entries: entries.length, head: prev };
}
