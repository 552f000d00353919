/**
 * A minimal, defensive ZIP reader (PKWARE APPNOTE 6.3): the end of central directory, the central
 * directory, and stored or deflated entries through node:zlib. Enough for APK and IPA inspection; ZIP64,
 * encryption and multi-disk archives are refused with a clear reason. Written here rather than adding
 * a dependency because only a few small entries are ever read, with strict size caps.
 */
import { inflateRawSync } from 'node:zlib';
import { bad, Reader } from './bytes.ts';

/** One entry of the central directory. */
export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** A parsed archive: its entries and where the central directory starts (the APK signing block ends there). */
export interface ZipArchive {
  buf: Buffer;
  entries: ZipEntry[];
  cdOffset: number;
}

const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
const MAX_ENTRIES = 200_000;
/** Largest entry this reader will inflate: manifests, plists and signatures are far smaller. */
export const MAX_ENTRY_BYTES = 16 * 1024 * 1024;

/** Parse the central directory of a ZIP file held in memory. */
export function readZip(buf: Buffer): ZipArchive {
  if (buf.length < 22) bad('the file is not a ZIP archive (too short)');
  // The EOCD is the last 22 bytes plus a comment of at most 65535 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG && i + 22 + buf.readUInt16LE(i + 20) <= buf.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad('the file is not a ZIP archive (no end of central directory)');
  const r = new Reader(buf, eocd + 4, buf.length, 'ZIP end record');
  const disk = r.u16();
  const cdDisk = r.u16();
  r.u16();
  const count = r.u16();
  const cdSize = r.u32();
  const cdOffset = r.u32();
  if (disk !== 0 || cdDisk !== 0) bad('multi-disk ZIP archives are not supported');
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff)
    bad('ZIP64 archives are not supported');
  if (count > MAX_ENTRIES) bad('the ZIP archive has too many entries');
  if (cdOffset + cdSize > eocd) bad('the ZIP central directory lies outside the file');
  const cd = new Reader(buf, cdOffset, cdOffset + cdSize, 'ZIP central directory');
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (cd.u32() !== CDH_SIG) bad('the ZIP central directory is corrupt');
    cd.skip(4);
    const flags = cd.u16();
    const method = cd.u16();
    cd.skip(8);
    const compressedSize = cd.u32();
    const size = cd.u32();
    const nameLen = cd.u16();
    const extraLen = cd.u16();
    const commentLen = cd.u16();
    cd.skip(8);
    const localOffset = cd.u32();
    const name = cd.bytes(nameLen).toString('utf8');
    cd.skip(extraLen + commentLen);
    entries.push({ name, method, flags, compressedSize, size, localOffset });
  }
  return { buf, entries, cdOffset };
}

/** The uncompressed bytes of one entry, refusing encrypted, oversized or corrupt data. */
export function readEntry(zip: ZipArchive, entry: ZipEntry, maxBytes = MAX_ENTRY_BYTES): Buffer {
  if (entry.flags & 1) bad(`${entry.name} is encrypted`);
  if (entry.size > maxBytes) bad(`${entry.name} is too large to inspect`);
  const h = new Reader(zip.buf, entry.localOffset, zip.cdOffset, `ZIP entry ${entry.name}`);
  if (h.u32() !== LFH_SIG) bad(`the ZIP local header of ${entry.name} is corrupt`);
  h.skip(22);
  const nameLen = h.u16();
  const extraLen = h.u16();
  h.skip(nameLen + extraLen);
  const data = h.bytes(entry.compressedSize);
  if (entry.method === 0) {
    if (data.length !== entry.size) bad(`${entry.name} has an inconsistent size`);
    return data;
  }
  if (entry.method !== 8) bad(`${entry.name} uses an unsupported compression method (${entry.method})`);
  let out: Buffer;
  try {
    // Inflate no more than the declared size (plus one byte, to notice more): a zip bomb declaring
    // a small size costs that size, not the 16 MiB cap.
    out = inflateRawSync(data, { maxOutputLength: entry.size + 1 });
  } catch {
    return bad(`${entry.name} is not valid deflate data`);
  }
  if (out.length !== entry.size) bad(`${entry.name} has an inconsistent size`);
  return out;
}
