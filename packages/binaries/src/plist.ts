/**
 * Property lists as found in iOS apps: XML plists (Info.plist in source form, provisioning profiles)
 * and binary `bplist00` (Info.plist as Xcode ships it). Values become plain JS values; depth and size
 * are capped because the input is an uploaded file.
 */
import { bad, Reader } from './bytes.ts';

/** A plist value. */
export type PlistValue =
  | string
  | number
  | boolean
  | Buffer
  | Date
  | PlistValue[]
  | { [key: string]: PlistValue };

const MAX_DEPTH = 64;
const MAX_OBJECTS = 200_000;

/** Parse a binary or XML plist. */
export function parsePlist(buf: Buffer): PlistValue {
  if (buf.subarray(0, 8).toString('latin1') === 'bplist00') return parseBinaryPlist(buf);
  return parseXmlPlist(buf.toString('utf8'));
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp =
        e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/**
 * `text.indexOf(needle, from)` for calls whose `from` never decreases, remembering the last answer:
 * a search that found nothing, or found something still ahead, is not repeated. Without it, a file
 * of many `<!--` (or `<`) with no closing `-->` (or `>`) rescans to its end from each one: quadratic,
 * 80 KB of `<!--` took 36 s with the regular expressions this replaces.
 */
function forwardFinder(text: string, needle: string): (from: number) => number {
  let found = -2;
  return (from) => {
    if (found === -1 || found >= from) return found;
    found = text.indexOf(needle, from);
    return found;
  };
}

/**
 * Drop comments, processing instructions (the XML declaration) and the DOCTYPE, in one linear pass.
 * Same result as `text.replace(/<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>/g, '')`: an
 * unclosed one is left in place.
 */
export function stripDeclarations(text: string): string {
  const commentEnd = forwardFinder(text, '-->');
  const piEnd = forwardFinder(text, '?>');
  const tagEnd = forwardFinder(text, '>');
  const parts: string[] = [];
  let copied = 0;
  for (let lt = text.indexOf('<'); lt >= 0; ) {
    let end = -1;
    if (text.startsWith('<!--', lt)) {
      const e = commentEnd(lt + 4);
      if (e >= 0) end = e + 3;
    } else if (text.startsWith('<?', lt)) {
      const e = piEnd(lt + 2);
      if (e >= 0) end = e + 2;
    } else if (text.startsWith('<!DOCTYPE', lt)) {
      const e = tagEnd(lt + 9);
      if (e >= 0) end = e + 1;
    }
    if (end < 0) {
      lt = text.indexOf('<', lt + 1);
      continue;
    }
    parts.push(text.slice(copied, lt));
    copied = end;
    lt = text.indexOf('<', end);
  }
  parts.push(text.slice(copied));
  return parts.join('');
}

/**
 * Tags and the text between them, in one linear pass. Same result as
 * `body.match(/<[^>]*>|[^<]+/g)`: a `<` with no `>` after it is dropped.
 */
export function tokenize(body: string): string[] {
  const tagEnd = forwardFinder(body, '>');
  const out: string[] = [];
  for (let i = 0; i < body.length; ) {
    if (body[i] === '<') {
      const e = tagEnd(i + 1);
      if (e < 0) {
        i++;
        continue;
      }
      out.push(body.slice(i, e + 1));
      i = e + 1;
    } else {
      const e = body.indexOf('<', i);
      const stop = e < 0 ? body.length : e;
      out.push(body.slice(i, stop));
      i = stop;
    }
  }
  return out;
}

/** Parse an XML plist (Apple's DTD: dict, array, key, string, integer, real, true, false, date, data). */
export function parseXmlPlist(text: string): PlistValue {
  // Tokens: tags and the text between them; comments, the XML declaration and DOCTYPE are dropped.
  const tokens = tokenize(stripDeclarations(text));
  let i = 0;
  let count = 0;
  const next = (): string => {
    while (i < tokens.length && /^\s*$/.test(tokens[i] as string)) i++;
    if (i >= tokens.length) bad('the plist is truncated');
    return tokens[i++] as string;
  };
  const textUntil = (tag: string): string => {
    let out = '';
    while (i < tokens.length && tokens[i] !== `</${tag}>`) {
      const t = tokens[i++] as string;
      if (t.startsWith('<')) bad(`the plist has markup inside <${tag}>`);
      out += t;
    }
    if (i >= tokens.length) bad(`the plist has an unclosed <${tag}>`);
    i++;
    return unescapeXml(out);
  };
  const value = (tok: string, depth: number): PlistValue => {
    if (depth > MAX_DEPTH || ++count > MAX_OBJECTS) bad('the plist is nested too deeply or too large');
    const m = /^<([a-z]+)(?:\s[^>]*?)?(\/?)>$/.exec(tok);
    if (!m) bad('the plist is not well-formed');
    const [, tag, empty] = m as unknown as [string, string, string];
    if (tag === 'true' || tag === 'false') {
      if (!empty && next() !== `</${tag}>`) bad('the plist is not well-formed');
      return tag === 'true';
    }
    if (empty) {
      if (tag === 'dict') return {};
      if (tag === 'array') return [];
      if (tag === 'string') return '';
      bad(`the plist has an empty <${tag}/>`);
    }
    switch (tag) {
      case 'plist':
        return plistRoot(depth);
      case 'string':
        return textUntil('string');
      case 'integer':
      case 'real': {
        const n = Number(textUntil(tag).trim());
        if (!Number.isFinite(n)) bad(`the plist has a bad <${tag}>`);
        return n;
      }
      case 'date':
        return new Date(textUntil('date').trim());
      case 'data':
        return Buffer.from(textUntil('data').replace(/\s+/g, ''), 'base64');
      case 'array': {
        const out: PlistValue[] = [];
        for (let t = next(); t !== '</array>'; t = next()) out.push(value(t, depth + 1));
        return out;
      }
      case 'dict': {
        const out: Record<string, PlistValue> = Object.create(null);
        for (let t = next(); t !== '</dict>'; t = next()) {
          if (t !== '<key>') bad('the plist has a <dict> entry without a <key>');
          const key = textUntil('key');
          out[key] = value(next(), depth + 1);
        }
        return out;
      }
      default:
        return bad(`the plist has an unknown element <${tag}>`);
    }
  };
  const plistRoot = (depth: number): PlistValue => {
    const v = value(next(), depth + 1);
    if (next() !== '</plist>') bad('the plist is not well-formed');
    return v;
  };
  return value(next(), 0);
}

/** Parse a binary plist (bplist00): trailer, offset table, then objects by reference. */
export function parseBinaryPlist(buf: Buffer): PlistValue {
  if (buf.length < 40) bad('the binary plist is truncated');
  const t = new Reader(buf, buf.length - 32, buf.length, 'binary plist');
  t.skip(6);
  const offsetSize = t.u8();
  const refSize = t.u8();
  const be64 = (): number => {
    const hi = t.bytes(8);
    const v = hi.readBigUInt64BE(0);
    if (v > BigInt(buf.length)) bad('the binary plist trailer is corrupt');
    return Number(v);
  };
  const numObjects = be64();
  const top = be64();
  const tableOffset = be64();
  if (![1, 2, 4, 8].includes(offsetSize) || ![1, 2, 4, 8].includes(refSize))
    bad('the binary plist trailer is corrupt');
  if (
    numObjects > MAX_OBJECTS ||
    top >= numObjects ||
    tableOffset + numObjects * offsetSize > buf.length - 32
  )
    bad('the binary plist trailer is corrupt');
  const uint = (at: number, size: number): number => {
    if (at < 0 || at + size > buf.length) bad('the binary plist is truncated');
    let v = 0;
    for (let k = 0; k < size; k++) v = v * 256 + (buf[at + k] as number);
    return v;
  };
  let budget = MAX_OBJECTS;
  const obj = (ref: number, depth: number): PlistValue => {
    if (depth > MAX_DEPTH || --budget < 0) bad('the binary plist is nested too deeply or too large');
    if (ref >= numObjects) bad('the binary plist has a dangling reference');
    const at = uint(tableOffset + ref * offsetSize, offsetSize);
    if (at >= tableOffset) bad('the binary plist has a bad offset');
    const marker = buf[at] as number;
    const kind = marker >> 4;
    let n = marker & 0x0f;
    let p = at + 1;
    const length = (): void => {
      if (n !== 0x0f) return;
      const m = buf[p] as number;
      if (m >> 4 !== 1) bad('the binary plist has a bad length');
      const size = 1 << (m & 0x0f);
      if (size > 8) bad('the binary plist has a bad length');
      n = uint(p + 1, size);
      p += 1 + size;
    };
    switch (kind) {
      case 0x0:
        if (n === 8) return false;
        if (n === 9) return true;
        return bad('the binary plist has an unsupported value');
      case 0x1: {
        const size = 1 << n;
        if (size > 8) bad('the binary plist has a bad integer');
        return uint(p, size);
      }
      case 0x2: {
        if (n === 2) return uint(p, 4) === 0 ? 0 : buf.readFloatBE(p);
        if (n === 3 && p + 8 <= buf.length) return buf.readDoubleBE(p);
        return bad('the binary plist has a bad real');
      }
      case 0x3:
        if (p + 8 > buf.length) bad('the binary plist is truncated');
        return new Date((buf.readDoubleBE(p) + 978307200) * 1000);
      case 0x4:
        length();
        if (p + n > buf.length) bad('the binary plist is truncated');
        return Buffer.from(buf.subarray(p, p + n));
      case 0x5:
        length();
        if (p + n > buf.length) bad('the binary plist is truncated');
        return buf.subarray(p, p + n).toString('latin1');
      case 0x6: {
        length();
        if (p + 2 * n > buf.length) bad('the binary plist is truncated');
        const le = Buffer.from(buf.subarray(p, p + 2 * n));
        le.swap16();
        return le.toString('utf16le');
      }
      case 0xa: {
        length();
        const out: PlistValue[] = [];
        for (let k = 0; k < n; k++) out.push(obj(uint(p + k * refSize, refSize), depth + 1));
        return out;
      }
      case 0xd: {
        length();
        const out: Record<string, PlistValue> = Object.create(null);
        for (let k = 0; k < n; k++) {
          const key = obj(uint(p + k * refSize, refSize), depth + 1);
          if (typeof key !== 'string') bad('the binary plist has a non-string key');
          out[key] = obj(uint(p + (n + k) * refSize, refSize), depth + 1);
        }
        return out;
      }
      default:
        return bad('the binary plist has an unsupported object');
    }
  };
  return obj(top, 0);
}
