/**
 * Android binary XML (AXML, the compiled AndroidManifest.xml inside an APK): the string pool and the
 * start-element chunks, which is all it takes to read the `<manifest>` attributes `package`,
 * `versionCode` and `versionName`. Chunk layout as in AOSP frameworks/base ResourceTypes.h.
 */
import { bad, Reader } from './bytes.ts';

const RES_XML_TYPE = 0x0003;
const RES_STRING_POOL_TYPE = 0x0001;
const RES_XML_START_ELEMENT_TYPE = 0x0102;
const UTF8_FLAG = 0x100;
const TYPE_STRING = 0x03;
const TYPE_INT_DEC = 0x10;
const TYPE_INT_HEX = 0x11;
const NO_INDEX = 0xffffffff;

/** The attributes of the root `<manifest>` element. */
export interface ManifestFacts {
  package_name: string;
  version_code: string | null;
  version_name: string | null;
}

function stringPool(r: Reader, chunkStart: number, chunkEnd: number): string[] {
  const count = r.u32();
  r.u32();
  const flags = r.u32();
  const stringsStart = r.u32();
  r.u32();
  if (count > 1_000_000) bad('the manifest string pool is too large');
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(r.u32());
  const base = chunkStart + stringsStart;
  const utf8 = (flags & UTF8_FLAG) !== 0;
  return offsets.map((off) => {
    const s = new Reader(r.buf, Math.min(base + off, chunkEnd), chunkEnd, 'manifest string pool');
    if (utf8) {
      const len8 = (): number => {
        const a = s.u8();
        return a & 0x80 ? ((a & 0x7f) << 8) | s.u8() : a;
      };
      len8(); // length in UTF-16 units, not needed
      return s.bytes(len8()).toString('utf8');
    }
    let n = s.u16();
    if (n & 0x8000) n = ((n & 0x7fff) << 16) | s.u16();
    return s.bytes(n * 2).toString('utf16le');
  });
}

/** Read package name and version from a binary AndroidManifest.xml. */
export function readManifest(buf: Buffer): ManifestFacts {
  const r = new Reader(buf, 0, buf.length, 'AndroidManifest.xml');
  if (r.u16() !== RES_XML_TYPE) bad('AndroidManifest.xml is not Android binary XML');
  const headerSize = r.u16();
  const total = r.u32();
  const end = Math.min(total, buf.length);
  r.pos = headerSize;
  let strings: string[] = [];
  const str = (i: number): string | null => (i === NO_INDEX ? null : (strings[i] ?? null));
  while (r.pos + 8 <= end) {
    const chunkStart = r.pos;
    const type = r.u16();
    const chunkHeader = r.u16();
    const size = r.u32();
    if (size < 8 || chunkStart + size > end || chunkHeader > size)
      bad('AndroidManifest.xml has a corrupt chunk');
    const chunk = new Reader(buf, r.pos, chunkStart + size, 'AndroidManifest.xml');
    if (type === RES_STRING_POOL_TYPE) strings = stringPool(chunk, chunkStart, chunkStart + size);
    else if (type === RES_XML_START_ELEMENT_TYPE) {
      chunk.pos = chunkStart + chunkHeader;
      chunk.u32(); // namespace
      const name = str(chunk.u32());
      const attrStart = chunk.u16();
      const attrSize = chunk.u16();
      const attrCount = chunk.u16();
      if (name !== 'manifest') bad('AndroidManifest.xml does not start with <manifest>');
      if (attrSize < 20) bad('AndroidManifest.xml has a corrupt attribute table');
      const facts: ManifestFacts = { package_name: '', version_code: null, version_name: null };
      for (let i = 0; i < attrCount; i++) {
        const a = new Reader(
          buf,
          chunkStart + chunkHeader + attrStart + i * attrSize,
          chunkStart + size,
          'manifest attribute',
        );
        a.u32();
        const attrName = str(a.u32());
        const raw = str(a.u32());
        a.u16();
        a.u8();
        const dataType = a.u8();
        const data = a.u32();
        const value =
          dataType === TYPE_STRING
            ? (raw ?? str(data))
            : dataType === TYPE_INT_DEC
              ? String(data | 0)
              : dataType === TYPE_INT_HEX
                ? `0x${data.toString(16)}`
                : raw;
        if (attrName === 'package' && value) facts.package_name = value;
        else if (attrName === 'versionCode') facts.version_code = value;
        else if (attrName === 'versionName') facts.version_name = value;
      }
      if (!facts.package_name) bad('AndroidManifest.xml has no package name');
      return facts;
    }
    r.pos = chunkStart + size;
  }
  return bad('AndroidManifest.xml has no <manifest> element');
}
