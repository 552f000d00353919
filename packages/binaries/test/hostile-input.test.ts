/**
 * Property tests of the parsers against hostile uploads: random bytes, and mutations of real and
 * built files (truncations, bit flips, extreme values written over length and offset fields, huge
 * declared sizes, zip bombs, deep nesting, pathological markup). Every parser, called directly (not
 * through inspectBinary's last-resort catch, which would hide a crash), must either accept or refuse
 * with the catalogued `invalid_request`/`ERR_BINARY`, quickly: never another exception, never a hang.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { CharterError } from '@charter/core';
import fc from 'fast-check';
import { readManifest } from '../src/axml.ts';
import { cmsCertificates, cmsContent } from '../src/der.ts';
import { inspectApk, inspectBinary, inspectIpa } from '../src/inspect.ts';
import { parseBinaryPlist, parsePlist, parseXmlPlist, stripDeclarations, tokenize } from '../src/plist.ts';
import { apk, axml, binaryPlist, cms, ipa, selfSignedCert, xmlPlist, zip } from '../src/testing.ts';
import { readEntry, readZip } from '../src/zip.ts';

/** Slowest a single parse may be: generous for a loaded machine, far below what a hang would take. */
const MAX_MS = 2000;

/** Accepted, or refused with the catalogued code; and fast either way. Returns whether it refused. */
function cleanly(what: string, f: () => unknown): boolean {
  const started = performance.now();
  let refused = false;
  try {
    f();
  } catch (e) {
    refused = true;
    assert.ok(e instanceof CharterError, `${what}: threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.deepEqual([e.code, e.detail], ['invalid_request', 'ERR_BINARY'], what);
    assert.ok(e.message.length > 0, what);
  }
  const ms = performance.now() - started;
  assert.ok(ms < MAX_MS, `${what}: took ${Math.round(ms)} ms`);
  return refused;
}

/** Must be refused (accepting it fails), cleanly and fast. */
function refused(what: string, f: () => unknown): void {
  assert.equal(cleanly(what, f), true, `${what}: accepted`);
}

/** Every parser an upload reaches, each on its own: the archive, each entry, the inspectors. */
function everyParser(file: Buffer): void {
  cleanly('inspectBinary', () => inspectBinary(file));
  cleanly('inspectApk', () => inspectApk(file));
  cleanly('inspectIpa', () => inspectIpa(file));
  let archive: ReturnType<typeof readZip> | undefined;
  cleanly('readZip', () => {
    archive = readZip(file);
  });
  for (const entry of archive?.entries.slice(0, 20) ?? [])
    cleanly(`readEntry ${entry.name}`, () => readEntry(archive!, entry));
}

const cert = selfSignedCert();
const manifest = { package: 'com.beta.orders', versionCode: 42, versionName: '2.1.0' };
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name));
const ARCHIVES: [string, Buffer][] = [
  ['built APK (v2)', apk(manifest, cert.der)],
  [
    'built IPA (binary plist)',
    ipa({ bundleId: 'com.b.c', version: '1', teamId: 'ABCDE12345', binary: true }),
  ],
  ['built IPA (XML plist)', ipa({ bundleId: 'com.b.c', version: '1', teamId: 'ABCDE12345', binary: false })],
  ['real APK (v1)', fixture('appium-unlock-2.0.0.apk')],
  ['real APK (v2+v3)', fixture('appium-uiautomator2-server-10.6.6-androidTest.apk')],
];
const archive = fc.constantFrom(...ARCHIVES);
/** Values that break length and offset arithmetic when written over a field. */
const extreme = fc.constantFrom(
  0,
  1,
  0x7f,
  0x80,
  0xff,
  0x7fff,
  0x8000,
  0xffff,
  0x7fffffff,
  0x80000000,
  0xffffffff,
);

test('random bytes are refused by every parser', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
      const b = Buffer.from(bytes);
      refused('inspectBinary', () => inspectBinary(b));
      refused('readZip', () => readZip(b));
      refused('readManifest', () => readManifest(b));
      refused('cmsCertificates', () => cmsCertificates(b));
      cleanly('cmsContent', () => cmsContent(b));
      refused('bplist', () => parseBinaryPlist(Buffer.concat([Buffer.from('bplist00'), b])));
      cleanly('parsePlist', () => parsePlist(b));
    }),
    { numRuns: 300 },
  );
});

test('truncated archives are refused; truncated parts never crash', () => {
  fc.assert(
    fc.property(archive, fc.nat(), ([what, file], cut) => {
      const short = file.subarray(0, cut % file.length);
      refused(`${what} cut at ${short.length}`, () => inspectBinary(short));
      everyParser(short);
    }),
    { numRuns: 300 },
  );
});

test('bit flips, byte runs and extreme values over fields never crash any parser', () => {
  fc.assert(
    fc.property(
      archive,
      fc.array(
        fc.oneof(
          fc.record({
            kind: fc.constant('flip' as const),
            at: fc.nat(),
            bit: fc.integer({ min: 0, max: 7 }),
          }),
          fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), v: extreme }),
          fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), v: extreme }),
          fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
          fc.record({
            kind: fc.constant('insert' as const),
            at: fc.nat(),
            bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
          }),
        ),
        { minLength: 1, maxLength: 6 },
      ),
      ([, file], edits) => {
        let b = Buffer.from(file);
        for (const e of edits) {
          const at = e.at % b.length;
          if (e.kind === 'flip') b[at] = (b[at] as number) ^ (1 << e.bit);
          else if (e.kind === 'u16' && at + 2 <= b.length) b.writeUInt16LE(e.v & 0xffff, at);
          else if (e.kind === 'u32' && at + 4 <= b.length) b.writeUInt32LE(e.v >>> 0, at);
          else if (e.kind === 'cut') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)]);
          else if (e.kind === 'insert')
            b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
          if (b.length === 0) b = Buffer.alloc(1);
        }
        everyParser(b);
      },
    ),
    { numRuns: 1500 },
  );
});

/** Offsets of every central directory header of a ZIP (signature PK\1\2). */
function centralHeaders(file: Buffer): number[] {
  const out: number[] = [];
  for (
    let at = file.indexOf('PK\x01\x02', 0, 'latin1');
    at >= 0;
    at = file.indexOf('PK\x01\x02', at + 4, 'latin1')
  )
    out.push(at);
  return out;
}

test('wrong sizes, lengths and offsets in the central directory and end record are refused cleanly', () => {
  // Field offsets inside a central directory header (APPNOTE 4.3.12) and the end record (4.3.16).
  const CDH = { compressedSize: 20, size: 24, nameLen: 28, extraLen: 30, commentLen: 32, localOffset: 42 };
  const EOCD = { count: 10, cdSize: 12, cdOffset: 16, commentLen: 20 };
  fc.assert(
    fc.property(
      archive,
      fc.constantFrom(...Object.entries(CDH)),
      fc.oneof(extreme, fc.nat()),
      fc.nat(),
      ([what, file], [field, offset], v, pick) => {
        const b = Buffer.from(file);
        const headers = centralHeaders(b);
        const at = (headers[pick % headers.length] as number) + offset;
        if (field.endsWith('Len')) b.writeUInt16LE(v & 0xffff, at);
        else b.writeUInt32LE(v >>> 0, at);
        everyParser(b);
        cleanly(`${what} with ${field}=${v}`, () => inspectBinary(b));
      },
    ),
    { numRuns: 600 },
  );
  fc.assert(
    fc.property(
      archive,
      fc.constantFrom(...Object.entries(EOCD)),
      fc.oneof(extreme, fc.nat()),
      ([, file], [field, offset], v) => {
        const b = Buffer.from(file);
        const eocd = b.lastIndexOf('PK\x05\x06', undefined, 'latin1');
        if (field === 'cdSize' || field === 'cdOffset') b.writeUInt32LE(v >>> 0, eocd + offset);
        else b.writeUInt16LE(v & 0xffff, eocd + offset);
        everyParser(b);
      },
    ),
    { numRuns: 400 },
  );
});

test('zip bombs: a small or huge declared size costs no more than the declared size, and is refused', () => {
  // 64 MiB of zeros deflates to about 64 KiB.
  const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024));
  const withDeclared = (size: number): Buffer => {
    const file = zip([{ name: 'AndroidManifest.xml', data: Buffer.from('x'), store: true }]);
    // Rebuild with the bomb as the stored body of a "deflated" entry, sizes patched in both headers.
    const name = Buffer.from('AndroidManifest.xml');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(bomb.length, 18);
    local.writeUInt32LE(size >>> 0, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(bomb.length, 20);
    central.writeUInt32LE(size >>> 0, 24);
    central.writeUInt16LE(name.length, 28);
    const cdOffset = local.length + name.length + bomb.length;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(central.length + name.length, 12);
    end.writeUInt32LE(cdOffset, 16);
    assert.ok(file.length > 0);
    return Buffer.concat([local, name, bomb, central, name, end]);
  };
  for (const size of [0, 100, 1024 * 1024, 16 * 1024 * 1024, 0x7fffffff, 0xffffffff]) {
    const file = withDeclared(size);
    const archive = readZip(file);
    refused(`bomb declaring ${size} bytes`, () => readEntry(archive, archive.entries[0]!));
    refused(`bomb declaring ${size} bytes, inspected`, () => inspectBinary(file));
  }
});

test('an APK signing block declaring huge or wrong sizes is refused cleanly', () => {
  const file = apk(manifest, cert.der);
  const magic = file.indexOf('APK Sig Block 42', 0, 'latin1');
  assert.ok(magic > 8);
  fc.assert(
    fc.property(
      fc.constantFrom(magic - 8, ...[0, 8, 16, 24].map((d) => file.indexOf('APK Sig Block 42') - 8 - d)),
      fc.oneof(
        fc.constantFrom(
          0n,
          1n,
          7n,
          15n,
          16n,
          2n ** 31n,
          2n ** 32n,
          2n ** 53n - 1n,
          2n ** 53n,
          2n ** 63n,
          2n ** 64n - 1n,
        ),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      ),
      (at, v) => {
        const b = Buffer.from(file);
        b.writeBigUInt64LE(v, at);
        cleanly(`signing block u64 at ${at} = ${v}`, () => inspectApk(b));
      },
    ),
    { numRuns: 300 },
  );
  // The pair sizes inside the block: every u64 length after the block's own size.
  const start = magic + 16 - 8 - Number(file.readBigUInt64LE(magic - 8));
  for (let at = start + 8; at < magic - 8; at += 4)
    for (const v of [0n, 3n, 2n ** 32n, 2n ** 53n, 2n ** 64n - 1n]) {
      const b = Buffer.from(file);
      b.writeBigUInt64LE(v, at);
      cleanly(`signing block field at ${at - start} = ${v}`, () => inspectApk(b));
    }
});

/** A binary plist of arrays given as lists of object references (1-byte refs and offsets). */
function bplistOfArrays(arrays: number[][]): Buffer {
  const objects = arrays.map((refs) =>
    Buffer.from([
      refs.length < 15 ? 0xa0 | refs.length : 0xaf,
      ...(refs.length < 15 ? [] : [0x10, refs.length]),
      ...refs,
    ]),
  );
  const offsets: number[] = [];
  let at = 8;
  for (const o of objects) {
    offsets.push(at);
    at += o.length;
  }
  const table = Buffer.from(offsets.flatMap((o) => [o >> 8, o & 0xff]));
  const trailer = Buffer.alloc(32);
  trailer[6] = 2;
  trailer[7] = 1;
  trailer.writeBigUInt64BE(BigInt(objects.length), 8);
  trailer.writeBigUInt64BE(0n, 16);
  trailer.writeBigUInt64BE(BigInt(at), 24);
  return Buffer.concat([Buffer.from('bplist00'), ...objects, table, trailer]);
}

test('deep nesting, cycles and shared references are refused, not followed forever', () => {
  refused('XML plist 10,000 arrays deep', () =>
    parseXmlPlist(`<plist>${'<array>'.repeat(10_000)}${'</array>'.repeat(10_000)}</plist>`),
  );
  refused('XML plist 10,000 dicts deep', () =>
    parseXmlPlist(`<plist>${'<dict><key>k</key>'.repeat(10_000)}<true/>${'</dict>'.repeat(10_000)}</plist>`),
  );
  refused('binary plist array containing itself', () => parseBinaryPlist(bplistOfArrays([[0]])));
  refused('binary plist cycle of two', () => parseBinaryPlist(bplistOfArrays([[1], [0]])));
  // 60 levels, each array holding the next one twice: 2^60 paths without a budget.
  const doubling = Array.from({ length: 60 }, (_, i) => (i < 59 ? [i + 1, i + 1] : []));
  refused('binary plist of shared references', () => parseBinaryPlist(bplistOfArrays(doubling)));
  // Three levels of 200 references to one shared array each: 8,000,000 visits, within depth 64.
  // The object budget, not the depth, stops it.
  const wide = [1, 2, 3].map((next) => Array.from({ length: 200 }, () => next));
  wide.push([]);
  refused('binary plist wide sharing', () => parseBinaryPlist(bplistOfArrays(wide)));
  // Nested SEQUENCEs in a signature: walked without recursion, refused as not CMS.
  let nested = Buffer.alloc(0);
  for (let i = 0; i < 2000; i++) nested = Buffer.concat([Buffer.from([0x30, 0x84]), Buffer.alloc(4), nested]);
  cleanly('DER 2,000 SEQUENCEs deep', () => cmsCertificates(nested));
});

test('pathological XML plist markup is parsed in linear time', () => {
  // Each of these took from seconds to minutes with the regular expressions once used (quadratic).
  for (const [what, text] of [
    ['unclosed comments', '<!--'.repeat(200_000)],
    ['unclosed tags', '<'.repeat(400_000)],
    ['unclosed declarations', '<?'.repeat(200_000)],
    ['unclosed DOCTYPEs', '<!DOCTYPE'.repeat(100_000)],
    ['a huge tag', `<plist${' a'.repeat(200_000)}>`],
  ] as const) {
    refused(what, () => parseXmlPlist(text));
    // The same inside an IPA's profile, where a reviewer's upload would reach it.
    const file = zip([
      { name: 'Payload/A.app/Info.plist', data: xmlPlist({ CFBundleIdentifier: 'com.b.c' }) },
      { name: 'Payload/A.app/embedded.mobileprovision', data: Buffer.from(`<?xml ?>${text}</plist>`) },
    ]);
    refused(`${what} in a profile`, () => inspectIpa(file));
  }
});

test('the linear tokenizer gives exactly what the regular expressions gave', () => {
  const oldTokens = (text: string): string[] =>
    text.replace(/<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>/g, '').match(/<[^>]*>|[^<]+/g) ?? [];
  const piece = fc.constantFrom(
    '<',
    '>',
    '!',
    '-',
    '--',
    '?',
    '<!--',
    '-->',
    '<?',
    '?>',
    '<!DOCTYPE',
    'a',
    ' ',
    '/',
    '<a>',
    '</a>',
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
      const text = parts.join('');
      assert.deepEqual(tokenize(stripDeclarations(text)), oldTokens(text), JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
  for (const good of [
    xmlPlist({ a: 'b', arr: ['1', '2'] }).toString(),
    '<?xml version="1.0"?><!-- c --><!DOCTYPE plist><plist><true/></plist>',
  ])
    assert.deepEqual(tokenize(stripDeclarations(good)), oldTokens(good));
});

test('mutated manifests, plists and signatures never crash their parsers', () => {
  const parts: [string, Buffer, (b: Buffer) => unknown][] = [
    ['AndroidManifest.xml', axml(manifest), readManifest],
    ['binary plist', binaryPlist({ CFBundleIdentifier: 'com.b.c', CFBundleVersion: '1' }), parseBinaryPlist],
    ['XML plist', xmlPlist({ CFBundleIdentifier: 'com.b.c', TeamIdentifier: ['ABCDE12345'] }), parsePlist],
    ['CMS with certificates', cms(undefined, [cert.der]), cmsCertificates],
    ['CMS with content', cms(xmlPlist({ Name: 'x' }), [cert.der]), cmsContent],
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...parts),
      fc.array(fc.tuple(fc.nat(), fc.oneof(fc.integer({ min: 0, max: 255 }), extreme)), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.option(fc.nat()),
      ([what, good, parse], writes, cut) => {
        let b = Buffer.from(good);
        for (const [at, v] of writes) {
          const i = at % b.length;
          if (v > 0xff && i + 4 <= b.length) b.writeUInt32LE(v >>> 0, i);
          else b[i] = v & 0xff;
        }
        if (cut !== null) b = b.subarray(0, cut % (b.length + 1));
        cleanly(what, () => parse(b));
      },
    ),
    { numRuns: 3000 },
  );
});
