/** Test builders for uploaded binaries: a ZIP writer, binary AndroidManifest, APK signing block, plists, CMS. */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';

/**
 * A real self-signed X.509 v3 certificate (ECDSA P-256, SHA-256) built with node:crypto and a little DER,
 * and its SHA-256 as apksigner would print it. node:crypto's X509Certificate parses it back.
 */
export function selfSignedCert(cn = 'Beta Apps Release'): { der: Buffer; sha256: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const oid = (hex: string) => der(0x06, Buffer.from(hex, 'hex'));
  const ecdsaSha256 = der(0x30, oid('2a8648ce3d040302'));
  const name = der(0x30, der(0x31, der(0x30, oid('550403'), der(0x0c, Buffer.from(cn, 'utf8')))));
  const time = (s: string) => der(0x17, Buffer.from(s, 'latin1'));
  const tbs = der(
    0x30,
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, randomBytes(8).fill(0x11, 0, 1)),
    ecdsaSha256,
    name,
    der(0x30, time('250101000000Z'), time('491231000000Z')),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const sig = sign('sha256', tbs, privateKey);
  const cert = der(0x30, tbs, ecdsaSha256, der(0x03, Buffer.from([0]), sig));
  new X509Certificate(cert); // throws if the DER is not a certificate
  return { der: cert, sha256: createHash('sha256').update(cert).digest('hex') };
}

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** A ZIP archive; `beforeCd` is inserted between the last entry and the central directory (APK signing block). */
export function zip(entries: { name: string; data: Buffer; store?: boolean }[], beforeCd?: Buffer): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const body = e.store ? e.data : deflateRawSync(e.data);
    const method = e.store ? 0 : 8;
    const common = Buffer.concat([
      u16(20),
      u16(0),
      u16(method),
      u32(0),
      u32(0),
      u32(body.length),
      u32(e.data.length),
    ]);
    const local = Buffer.concat([u32(0x04034b50), common, u16(name.length), u16(0), name, body]);
    central.push(
      Buffer.concat([
        u32(0x02014b50),
        u16(20),
        common,
        u16(name.length),
        u16(0),
        u16(0),
        u16(0),
        u16(0),
        u32(0),
        u32(offset),
        name,
      ]),
    );
    locals.push(local);
    offset += local.length;
  }
  const pre = beforeCd ?? Buffer.alloc(0);
  const cd = Buffer.concat(central);
  const cdOffset = offset + pre.length;
  const eocd = Buffer.concat([
    u32(0x06054b50),
    u16(0),
    u16(0),
    u16(entries.length),
    u16(entries.length),
    u32(cd.length),
    u32(cdOffset),
    u16(0),
  ]);
  return Buffer.concat([...locals, pre, cd, eocd]);
}

/** A binary AndroidManifest.xml with `<manifest package versionCode versionName>` (UTF-16 string pool). */
export function axml(m: { package: string; versionCode: number; versionName: string }): Buffer {
  const strings = [
    'versionCode',
    'versionName',
    'package',
    'manifest',
    m.versionName,
    m.package,
    'http://schemas.android.com/apk/res/android',
    'android',
  ];
  const enc = strings.map((s) => Buffer.concat([u16(s.length), Buffer.from(s, 'utf16le'), u16(0)]));
  const offsets: number[] = [];
  let o = 0;
  for (const e of enc) {
    offsets.push(o);
    o += e.length;
  }
  let data = Buffer.concat(enc);
  if (data.length % 4) data = Buffer.concat([data, Buffer.alloc(4 - (data.length % 4))]);
  const poolHeader = 28;
  const stringsStart = poolHeader + 4 * strings.length;
  const pool = Buffer.concat([
    u16(0x0001),
    u16(poolHeader),
    u32(stringsStart + data.length),
    u32(strings.length),
    u32(0),
    u32(0),
    u32(stringsStart),
    u32(0),
    ...offsets.map(u32),
    data,
  ]);
  const resMap = Buffer.concat([u16(0x0180), u16(8), u32(8 + 12), u32(0x0101021b), u32(0x0101021c), u32(0)]);
  const attr = (name: number, raw: number, type: number, value: number) =>
    Buffer.concat([u32(6), u32(name), u32(raw), u16(8), Buffer.from([0, type]), u32(value)]);
  const attrs = [attr(0, 0xffffffff, 0x10, m.versionCode), attr(1, 4, 0x03, 4), attr(2, 5, 0x03, 5)];
  const ext = Buffer.concat([
    u32(0xffffffff),
    u32(3),
    u16(20),
    u16(20),
    u16(attrs.length),
    u16(0),
    u16(0),
    u16(0),
  ]);
  const startEl = Buffer.concat([
    u16(0x0102),
    u16(16),
    u32(16 + ext.length + 60),
    u32(1),
    u32(0xffffffff),
    ext,
    ...attrs,
  ]);
  const endEl = Buffer.concat([
    u16(0x0103),
    u16(16),
    u32(24),
    u32(1),
    u32(0xffffffff),
    u32(0xffffffff),
    u32(3),
  ]);
  const body = Buffer.concat([pool, resMap, startEl, endEl]);
  return Buffer.concat([u16(0x0003), u16(8), u32(8 + body.length), body]);
}

const prefixed = (...parts: Buffer[]): Buffer => {
  const b = Buffer.concat(parts);
  return Buffer.concat([u32(b.length), b]);
};

/** An APK Signing Block with one v2 (or v3) signer carrying `certDer` (signatures are dummies: never verified). */
export function signingBlock(certDer: Buffer, scheme: 'v2' | 'v3' = 'v2'): Buffer {
  const id = scheme === 'v2' ? 0x7109871a : 0xf05368c0;
  const digests = prefixed(prefixed(u32(0x0103), prefixed(Buffer.alloc(32, 7))));
  const certs = prefixed(prefixed(certDer));
  const signedData = prefixed(
    digests,
    certs,
    ...(scheme === 'v3' ? [u32(24), u32(0x7fffffff)] : []),
    prefixed(),
  );
  const signer = prefixed(
    signedData,
    ...(scheme === 'v3' ? [u32(24), u32(0x7fffffff)] : []),
    prefixed(),
    prefixed(Buffer.alloc(91, 1)),
  );
  const value = Buffer.concat([u32(id), prefixed(signer)]);
  const pair = Buffer.concat([u64(value.length), value]);
  const size = pair.length + 8 + 16;
  return Buffer.concat([u64(size), pair, u64(size), Buffer.from('APK Sig Block 42', 'latin1')]);
}

/** A test APK: binary manifest, a dex placeholder, and a v2 signing block with `certDer`. */
export function apk(
  m: { package: string; versionCode: number; versionName: string },
  certDer: Buffer,
): Buffer {
  return zip(
    [
      { name: 'AndroidManifest.xml', data: axml(m) },
      { name: 'classes.dex', data: Buffer.from('dex\n035\0placeholder') },
    ],
    signingBlock(certDer),
  );
}

// DER encoding, for CMS structures in tests.
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const len =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

/** A CMS SignedData ContentInfo with optional eContent and certificates (signature-free: never verified). */
export function cms(content: Buffer | undefined, certs: Buffer[]): Buffer {
  const oid = (hex: string) => der(0x06, Buffer.from(hex, 'hex'));
  const encap = der(0x30, oid('2a864886f70d010701'), ...(content ? [der(0xa0, der(0x04, content))] : []));
  const sd = der(0x30, der(0x02, Buffer.from([1])), der(0x31), encap, der(0xa0, ...certs), der(0x31));
  return der(0x30, oid('2a864886f70d010702'), der(0xa0, sd));
}

/** An XML plist of a flat dictionary of strings and string arrays. */
export function xmlPlist(dict: Record<string, string | string[]>): Buffer {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const v = (x: string | string[]) =>
    Array.isArray(x)
      ? `<array>${x.map((s) => `<string>${esc(s)}</string>`).join('')}</array>`
      : `<string>${esc(x)}</string>`;
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0"><dict>${Object.entries(
      dict,
    )
      .map(([k, x]) => `<key>${esc(k)}</key>${v(x)}`)
      .join('')}</dict></plist>\n`,
  );
}

/** A binary plist (bplist00) of a flat dictionary of ASCII strings. */
export function binaryPlist(dict: Record<string, string>): Buffer {
  const objects: Buffer[] = [];
  const str = (s: string): number => {
    const b = Buffer.from(s, 'latin1');
    const marker = b.length < 15 ? Buffer.from([0x50 | b.length]) : Buffer.from([0x5f, 0x10, b.length]);
    objects.push(Buffer.concat([marker, b]));
    return objects.length - 1;
  };
  const entries = Object.entries(dict);
  objects.push(Buffer.alloc(0)); // the dict, filled in below
  const keys = entries.map(([k]) => str(k));
  const values = entries.map(([, v]) => str(v));
  objects[0] = Buffer.concat([Buffer.from([0xd0 | entries.length]), Buffer.from([...keys, ...values])]);
  const header = Buffer.from('bplist00', 'latin1');
  const offsets: number[] = [];
  let at = header.length;
  for (const o of objects) {
    offsets.push(at);
    at += o.length;
  }
  const table = Buffer.concat(offsets.map((n) => Buffer.from([n >> 8, n & 0xff])));
  const trailer = Buffer.alloc(32);
  trailer[6] = 2;
  trailer[7] = 1;
  trailer.writeBigUInt64BE(BigInt(objects.length), 8);
  trailer.writeBigUInt64BE(0n, 16);
  trailer.writeBigUInt64BE(BigInt(at), 24);
  return Buffer.concat([header, ...objects, table, trailer]);
}

/** A test IPA: Info.plist (binary or XML) and an embedded.mobileprovision (CMS around an XML plist). */
export function ipa(m: { bundleId: string; version: string; teamId: string; binary?: boolean }): Buffer {
  const info = {
    CFBundleIdentifier: m.bundleId,
    CFBundleShortVersionString: m.version,
    CFBundleName: 'Orders',
  };
  const profile = xmlPlist({ Name: 'Orders AppStore', TeamIdentifier: [m.teamId], AppIDName: 'Orders' });
  return zip([
    { name: 'Payload/Orders.app/Info.plist', data: m.binary ? binaryPlist(info) : xmlPlist(info) },
    { name: 'Payload/Orders.app/embedded.mobileprovision', data: cms(profile, []), store: true },
    { name: 'Payload/Orders.app/Orders', data: Buffer.from('\xcf\xfa\xed\xfe', 'latin1') },
  ]);
}
