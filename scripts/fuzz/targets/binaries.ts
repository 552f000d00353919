/**
 * In-process target for uploaded APKs and IPAs (inspectBinary, then compareBinary as the portal does):
 * ZIP records with damaged fields (sizes, offsets, methods, name lengths, the end record), archives
 * rebuilt around mutated members (binary XML manifest, signing block DER, plists, CMS profile), and
 * raw damage. The seed files are built by the issuer's test builders (real format, test content).
 */
import { compareBinary, inspectBinary } from '@charter/binaries';
import {
  apk,
  axml,
  binaryPlist,
  cms,
  ipa,
  selfSignedCert,
  signingBlock,
  xmlPlist,
  zip,
} from '@charter/binaries/testing';
import { mutateBytes } from '../bytes.ts';
import { mutateDer } from '../der.ts';
import type { Rng } from '../rng.ts';
import { type Harness, outcomeOfSync, type Target } from '../target.ts';

const FIELDS: Record<number, [number, 2 | 4][]> = {
  // local file header: version, flags, method, time, date, crc, csize, usize, name len, extra len
  67324752: [
    [4, 2],
    [6, 2],
    [8, 2],
    [14, 4],
    [18, 4],
    [22, 4],
    [26, 2],
    [28, 2],
  ],
  // central directory header: method, crc, csize, usize, name, extra, comment len, disk, attrs, offset
  33639248: [
    [10, 2],
    [16, 4],
    [20, 4],
    [24, 4],
    [28, 2],
    [30, 2],
    [32, 2],
    [34, 2],
    [38, 4],
    [42, 4],
  ],
  // end of central directory: disk numbers, entry counts, cd size, cd offset, comment length
  101010256: [
    [4, 2],
    [6, 2],
    [8, 2],
    [10, 2],
    [12, 4],
    [16, 4],
    [20, 2],
  ],
};
const VALUES = [0, 1, 8, 12, 99, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0xffffffff, 0xfffffffe];

/** Overwrite one field of one ZIP record with an interesting value (or off by one). */
function zipFieldDamage(rng: Rng, buf: Buffer): Buffer {
  const at: { pos: number; sig: number }[] = [];
  for (let i = 0; i + 4 <= buf.length; i++) {
    if (buf[i] !== 0x50 || buf[i + 1] !== 0x4b) continue;
    const sig = buf.readUInt32LE(i);
    if (FIELDS[sig]) at.push({ pos: i, sig });
  }
  if (!at.length) return Buffer.from(mutateBytes(rng, buf));
  const out = Buffer.from(buf);
  for (let k = rng.pick([1, 1, 2, 3]); k > 0; k--) {
    const rec = rng.pick(at);
    const [off, size] = rng.pick(FIELDS[rec.sig] as [number, 2 | 4][]);
    const p = rec.pos + off;
    if (p + size > out.length) continue;
    const old = size === 2 ? out.readUInt16LE(p) : out.readUInt32LE(p);
    const v = rng.chance(0.3) ? old + rng.pick([-1, 1, 2]) : rng.pick(VALUES);
    if (size === 2) out.writeUInt16LE(v & 0xffff, p);
    else out.writeUInt32LE(v >>> 0, p);
  }
  return out;
}

export const binaries: Target = {
  name: 'binaries',
  about:
    'APK/IPA uploads (inspectBinary, compareBinary): ZIP, binary XML manifest, signing block, plists, CMS',
  async setup(): Promise<Harness> {
    const cert = selfSignedCert();
    const manifest = { package: 'com.beta.orders', versionCode: 7, versionName: '1.2.0' };
    const seeds = [
      apk(manifest, cert.der),
      ipa({ bundleId: 'com.beta.orders', version: '1.2.0', teamId: 'ABCDE12345' }),
      ipa({ bundleId: 'com.beta.orders', version: '1.2.0', teamId: 'ABCDE12345', binary: true }),
    ];
    const info = {
      CFBundleIdentifier: 'com.beta.orders',
      CFBundleShortVersionString: '1.2.0',
      CFBundleName: 'Orders',
    };
    const declared = {
      android: { package_name: 'com.beta.orders', signing_cert_sha256: [cert.sha256] },
      ios: { team_id: 'ABCDE12345', bundle_id: 'com.beta.orders' },
    };
    return {
      seeds,
      generate(rng) {
        const r = rng.int(100);
        if (r < 2) return rng.pick(seeds);
        if (r < 25) return zipFieldDamage(rng, rng.pick(seeds));
        if (r < 45) return Buffer.from(mutateBytes(rng, rng.pick(seeds), rng.pick(seeds)));
        // An archive rebuilt around one mutated member.
        switch (rng.int(5)) {
          case 0:
            return zip(
              [
                { name: 'AndroidManifest.xml', data: Buffer.from(mutateBytes(rng, axml(manifest))) },
                { name: 'classes.dex', data: Buffer.from('dex\n035\0') },
              ],
              signingBlock(cert.der),
            );
          case 1:
            return zip(
              [{ name: 'AndroidManifest.xml', data: axml(manifest) }],
              rng.chance(0.5)
                ? signingBlock(Buffer.from(mutateDer(rng, cert.der)), rng.chance(0.5) ? 'v2' : 'v3')
                : Buffer.from(mutateBytes(rng, signingBlock(cert.der))),
            );
          case 2: {
            const plist = rng.chance(0.5) ? binaryPlist(info) : xmlPlist(info);
            return zip([
              { name: 'Payload/Orders.app/Info.plist', data: Buffer.from(mutateBytes(rng, plist)) },
              {
                name: 'Payload/Orders.app/embedded.mobileprovision',
                data: cms(xmlPlist({ TeamIdentifier: ['ABCDE12345'] }), []),
                store: true,
              },
            ]);
          }
          case 3: {
            const profile = cms(xmlPlist({ Name: 'P', TeamIdentifier: ['ABCDE12345'] }), [cert.der]);
            return zip([
              { name: 'Payload/Orders.app/Info.plist', data: xmlPlist(info) },
              {
                name: 'Payload/Orders.app/embedded.mobileprovision',
                data: Buffer.from(rng.chance(0.6) ? mutateDer(rng, profile) : mutateBytes(rng, profile)),
                store: rng.chance(0.5),
              },
            ]);
          }
          default: {
            // Odd member names and counts: traversal, duplicates, many entries.
            const name = rng.pick([
              '../AndroidManifest.xml',
              'AndroidManifest.xml\u0000',
              'Payload/',
              'Payload/../Info.plist',
              'Payload/A.app/Info.plist',
              '',
            ]);
            const members = Array.from({ length: rng.pick([1, 2, 300]) }, () => ({
              name,
              data: rng.chance(0.5) ? axml(manifest) : xmlPlist(info),
              store: rng.chance(0.5),
            }));
            return zip(members);
          }
        }
      },
      run(input) {
        const buf = Buffer.from(input as Uint8Array);
        return outcomeOfSync(() => {
          const facts = inspectBinary(buf);
          compareBinary(facts, { platforms: declared, version: '1.2.0' });
        });
      },
    };
  },
};
