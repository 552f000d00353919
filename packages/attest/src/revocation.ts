/**
 * Android attestation certificate revocation (Google's status list,
 * https://android.googleapis.com/attestation/status). This package never goes online: it ships a
 * snapshot, and the site license's `attestation.android_revoked` (SPEC §2.2) adds serials without any
 * outbound call.
 *
 * Serial format. Google's list is keyed by the certificate serial as lowercase hex with no leading zeros
 * and no separators: exactly Java's `BigInteger.toString(16)`, which is what Google's own checker uses
 * (`cert.getSerialNumber().toString(16)`). The DER sign-padding byte (00 before a serial whose top bit
 * is set) is therefore NOT part of the key: serial bytes `00 cc 66 …` are listed as `cc66…`. We normalise
 * every entry the same way (lowercase, drop `0x`, colons and spaces, strip leading zeros) so an operator
 * pasting `00:CC:66:…` from openssl still matches. Several third-party verifiers read the many all-digit
 * entries of Google's list as decimal; we also compare each certificate's decimal serial against the
 * list. Matching a second form can only refuse more, never admit more.
 */

/** One entry of Google's status list. */
export interface RevocationEntry {
  /** SUSPENDED counts as revoked: Google documents it as "must not be trusted for now". */
  status: 'REVOKED' | 'SUSPENDED';
  reason?: string;
  comment?: string;
}

/** A dated copy of (part of) Google's status list. */
export interface RevocationSnapshot {
  /** When the copied content was current (YYYY-MM-DD); entries added by Google since are not in it. */
  date: string;
  /** Where the entries were copied from. */
  source: string;
  entries: Readonly<Record<string, RevocationEntry>>;
}

/**
 * The bundled snapshot: the REVOKED entries of the status-list copy in Google's own reference verifier
 * (google/android-key-attestation, server/src/test/resources/status.json, commit 19b996bca74d, Apache-2.0),
 * which its CertificateRevocationStatusTest reads. No fuller copy of Google's live list with a known date
 * was available offline; the file was added together with a test certificate issued 2019-08-14, so that
 * is the date we can vouch for. Its test-only SUSPENDED entry is deliberately left out. Keep it current
 * through the license's `attestation.android_revoked`.
 */
export const ANDROID_REVOCATION_SNAPSHOT: RevocationSnapshot = Object.freeze<RevocationSnapshot>({
  date: '2019-08-14',
  source: 'google/android-key-attestation@19b996bca74d server/src/test/resources/status.json',
  entries: Object.freeze<Record<string, RevocationEntry>>({
    '6681152659205225093': { status: 'REVOKED', reason: 'KEY_COMPROMISE' },
    '8350192447815228107': { status: 'REVOKED', reason: 'KEY_COMPROMISE' },
    '9408173275444922801': { status: 'REVOKED', reason: 'KEY_COMPROMISE' },
    '11244410301401252959': { status: 'REVOKED', reason: 'KEY_COMPROMISE' },
  }),
});

/** Date (YYYY-MM-DD) of the bundled revocation snapshot. */
export const ANDROID_REVOCATION_SNAPSHOT_DATE: string = ANDROID_REVOCATION_SNAPSHOT.date;

/**
 * How old a snapshot is at `nowMs` (default now), in whole days: what operators are shown (console
 * overview, `charter license inspect`, the `charter_android_revocation_snapshot_age_days` metric) so a
 * stale list is visible. Entries Google added since the snapshot are only enforced when the license
 * brings them (`attestation.android_revoked`).
 */
export function revocationSnapshotAgeDays(
  nowMs: number = Date.now(),
  snapshot: RevocationSnapshot = ANDROID_REVOCATION_SNAPSHOT,
): number {
  const at = Date.parse(`${snapshot.date}T00:00:00Z`);
  return Math.max(0, Math.floor((nowMs - at) / 86_400_000));
}

/**
 * Normalise a serial written by a person or a list: lowercase, without `0x`, colons or whitespace, and
 * without leading zeros (`'0'` stays `'0'`; a leading `-` is kept, as Java prints negative serials).
 * Returns undefined for anything that is not hex.
 */
export function normalizeSerial(serial: string): string | undefined {
  let s = serial.trim().toLowerCase().replace(/[\s:]/g, '');
  let sign = '';
  if (s.startsWith('-')) {
    sign = '-';
    s = s.slice(1);
  }
  if (s.startsWith('0x')) s = s.slice(2);
  if (!/^[0-9a-f]+$/.test(s)) return undefined;
  s = s.replace(/^0+(?=.)/, '');
  return sign + s;
}

/** A set of revoked serials, built once and reused across verifications. */
export class RevocationList {
  readonly #serials: Set<string>;
  /** Date of the snapshot it started from, if any. */
  readonly snapshotDate: string | undefined;

  private constructor(serials: Set<string>, snapshotDate: string | undefined) {
    this.#serials = serials;
    this.snapshotDate = snapshotDate;
  }

  /**
   * A list made of `snapshot` (default: the bundled one; `null` for none) plus `extra` serials (hex, any
   * of the forms {@link normalizeSerial} accepts). Entries that are not hex are ignored.
   */
  static create(
    extra: Iterable<string> = [],
    snapshot: RevocationSnapshot | null = ANDROID_REVOCATION_SNAPSHOT,
  ): RevocationList {
    const set = new Set<string>();
    if (snapshot) {
      for (const [serial, entry] of Object.entries(snapshot.entries)) {
        if (entry.status !== 'REVOKED' && entry.status !== 'SUSPENDED') continue;
        const n = normalizeSerial(serial);
        if (n !== undefined) set.add(n);
      }
    }
    for (const serial of extra) {
      const n = typeof serial === 'string' ? normalizeSerial(serial) : undefined;
      if (n !== undefined) set.add(n);
    }
    return new RevocationList(set, snapshot?.date);
  }

  /** Number of distinct serials. */
  get size(): number {
    return this.#serials.size;
  }

  /** True when a certificate with this serial (hex as BigInteger.toString(16), and decimal) is listed. */
  has(serialHex: string, serialDecimal?: string): boolean {
    return this.#serials.has(serialHex) || (serialDecimal !== undefined && this.#serials.has(serialDecimal));
  }
}

let bundled: RevocationList | undefined;

/** The bundled snapshot as a list (built once). */
export function bundledRevocationList(): RevocationList {
  bundled ??= RevocationList.create();
  return bundled;
}
