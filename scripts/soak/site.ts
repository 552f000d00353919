/**
 * The soak's site: a vendor (test keys made with the core API), the charters of the genuine apps and
 * of the attackers, the test attestation PKIs of Android and Apple, and the files `charter gateway
 * start` reads (trust, license, routes).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestAppAttestAuthority, createTestAttestationAuthority } from '@charter/attest/testing';
import {
  makeCharter,
  makeLicense,
  makeVendor,
  type TestVendor,
} from '../../packages/gateway/test/helpers.ts';

export const WEB_ORIGIN = 'https://wards.hospital.example';
export const ANDROID_PACKAGE = 'com.beta.wards';
export const ANDROID_DIGEST = createHash('sha256').update('beta wards signing certificate').digest('hex');
export const IOS_TEAM = 'ABCDE12345';
export const IOS_BUNDLE = 'com.beta.wards';

/** The apps the license admits, and one it does not. */
export const APPS = { web: 'app_wards_web', server: 'app_lab_sync', mobile: 'app_wards_mobile' } as const;
export const UNLICENSED_APP = 'app_unlicensed';

export interface SoakSite {
  vendor: TestVendor;
  android: ReturnType<typeof createTestAttestationAuthority>;
  apple: ReturnType<typeof createTestAppAttestAuthority>;
  charters: { web: string; server: string; mobile: string; unlicensed: string; foreign: string };
  trustFile: string;
  routesFile: string;
  licenseFile: string;
  /** Write license 2, which revokes `instances`; returns its file. */
  revokingLicense(instances: string[]): Promise<string>;
}

const ROUTES = [
  { method: 'GET', path: '/orders*', scope: 'orders:read' },
  { method: 'POST', path: '/orders*', scope: 'orders:write' },
];

export async function makeSite(dir: string): Promise<SoakSite> {
  const vendor = await makeVendor('acme');
  const android = createTestAttestationAuthority();
  const apple = createTestAppAttestAuthority();
  const ttl = { exp: Math.floor(Date.now() / 1000) + 7 * 86400 };
  const charters = {
    web: (await makeCharter(vendor, APPS.web, { ...ttl, platforms: { web: { origins: [WEB_ORIGIN] } } }))
      .token,
    server: (await makeCharter(vendor, APPS.server, { ...ttl, platforms: { server: {} } })).token,
    mobile: (
      await makeCharter(vendor, APPS.mobile, {
        ...ttl,
        platforms: {
          android: { package_name: ANDROID_PACKAGE, signing_cert_sha256: [ANDROID_DIGEST] },
          ios: { team_id: IOS_TEAM, bundle_id: IOS_BUNDLE },
        },
      })
    ).token,
    // Signed by the vendor, for an app this site's license does not admit.
    unlicensed: (await makeCharter(vendor, UNLICENSED_APP, { ...ttl, platforms: { server: {} } })).token,
    // Same vendor id, same app, someone else's key: not in the trust file.
    foreign: (await makeCharter(await makeVendor('acme'), APPS.server, { ...ttl, platforms: { server: {} } }))
      .token,
  };
  const license = (serial: number, revoked: Record<string, string[]>) =>
    makeLicense(vendor, serial, {
      apps: Object.values(APPS).map((app_id) => ({ app_id })),
      revoked,
      attestation: { roots: [android.rootPem, apple.rootPem] },
      // Every soak client shares one loopback address: the per-address registration limit would
      // refuse genuine registrations for that reason alone.
      policy: {
        mode: 'enforce',
        register_rate: { per_address_per_min: 1_000_000, per_charter_per_min: 1_000_000 },
      },
    });
  const site: SoakSite = {
    vendor,
    android,
    apple,
    charters,
    trustFile: join(dir, 'trust.json'),
    routesFile: join(dir, 'routes.json'),
    licenseFile: join(dir, 'site-1.license'),
    async revokingLicense(instances) {
      const file = join(dir, 'site-2.license');
      writeFileSync(file, await license(2, { instances }));
      return file;
    },
  };
  writeFileSync(site.trustFile, JSON.stringify(vendor.trustDoc));
  writeFileSync(site.routesFile, JSON.stringify(ROUTES));
  writeFileSync(site.licenseFile, await license(1, {}));
  return site;
}
