/**
 * Just enough DER (X.690) to walk CMS SignedData (RFC 5652): the certificates of an APK v1 signature
 * file and the encapsulated content of an iOS provisioning profile. Definite lengths only; the few
 * BER producers (indefinite lengths) are handled by the callers' fallbacks.
 */
import { bad } from './bytes.ts';

/** One TLV: tag byte, where its content starts and ends, and where the whole element ends. */
export interface Tlv {
  tag: number;
  start: number;
  headerStart: number;
  end: number;
}

/** Read the TLV at `at` within `[at, limit)`. */
export function tlv(buf: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit || limit > buf.length) bad('the signature data is truncated');
  const tag = buf[at] as number;
  if ((tag & 0x1f) === 0x1f) bad('the signature data uses an unsupported tag');
  let len = buf[at + 1] as number;
  let start = at + 2;
  if (len === 0x80) bad('the signature data uses indefinite lengths');
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n > 4 || start + n > limit) bad('the signature data has an impossible length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] as number);
    start += n;
  }
  const end = start + len;
  if (end > limit) bad('the signature data is truncated');
  return { tag, start, headerStart: at, end };
}

/** The children of a constructed element. */
export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = tlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
    if (out.length > 10_000) bad('the signature data has too many elements');
  }
  return out;
}

const SIGNED_DATA = Buffer.from('2a864886f70d010702', 'hex');

/** The SignedData SEQUENCE inside a CMS ContentInfo. */
function signedData(buf: Buffer): { sd: Tlv; parts: Tlv[] } {
  const ci = tlv(buf, 0, buf.length);
  if (ci.tag !== 0x30) bad('the signature is not a CMS structure');
  const [oid, explicit] = children(buf, ci);
  if (oid?.tag !== 0x06 || !buf.subarray(oid.start, oid.end).equals(SIGNED_DATA) || !explicit)
    bad('the signature is not CMS SignedData');
  const sd = children(buf, explicit)[0];
  if (sd?.tag !== 0x30) bad('the CMS SignedData is malformed');
  return { sd, parts: children(buf, sd) };
}

/** The DER of every certificate in a CMS SignedData (the `[0] IMPLICIT` certificates set). */
export function cmsCertificates(buf: Buffer): Buffer[] {
  const { parts } = signedData(buf);
  const set = parts.find((p) => p.tag === 0xa0);
  if (!set) return [];
  return children(buf, set)
    .filter((c) => c.tag === 0x30)
    .map((c) => buf.subarray(c.headerStart, c.end));
}

/** The encapsulated content of a CMS SignedData (eContent OCTET STRING), or undefined. */
export function cmsContent(buf: Buffer): Buffer | undefined {
  const { parts } = signedData(buf);
  const encap = parts[2];
  if (encap?.tag !== 0x30) return undefined;
  const explicit = children(buf, encap)[1];
  if (explicit?.tag !== 0xa0) return undefined;
  const octets = children(buf, explicit)[0];
  if (!octets) return undefined;
  if (octets.tag === 0x04) return buf.subarray(octets.start, octets.end);
  // A constructed OCTET STRING: the content is the concatenation of its primitive pieces.
  if (octets.tag === 0x24)
    return Buffer.concat(children(buf, octets).map((c) => buf.subarray(c.start, c.end)));
  return undefined;
}
