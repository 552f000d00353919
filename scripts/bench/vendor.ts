/**
 * The throwaway vendor every benchmark script signs with (made with core, as a real vendor's tools
 * do): a root key, a delegated signing key, the charter claims of the one bench app and the license
 * claims of the one bench site. One place, so the bench, the admission profile and the workers'
 * cost measure the same artifacts.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  type CharterClaims,
  generateVendorKey,
  type LicenseClaims,
  signKeyDelegation,
  trustFromDocument,
} from '@charter/core';
import { createGateway, type GatewayStore } from '@charter/gateway';

/** The bench app's Android binding (the test attestation authority attests this package and signer). */
export const BENCH_ANDROID = {
  package_name: 'com.bench.app',
  signing_cert_sha256: [createHash('sha256').update('bench').digest('hex')],
};

const now = () => Math.floor(Date.now() / 1000);

/** A fresh bench vendor: keys, the trust document gateways load, and claim builders. */
export async function benchVendor() {
  const root = await generateVendorKey();
  const signing = await generateVendorKey();
  const delegation = await signKeyDelegation(
    {
      vendorId: 'acme',
      jwk: signing.publicJwk,
      use: ['charter', 'license'],
      nbf: now() - 60,
      exp: now() + 86400,
    },
    { kid: root.publicJwk.kid, privateKey: root.privateKey },
  );
  return {
    root,
    trustDoc: { vendor_id: 'acme', keys: [root.publicJwk] },
    delegation,
    signer: { kid: signing.publicJwk.kid, privateKey: signing.privateKey },
    /** The bench app's charter claims, for the platforms given. */
    charterClaims: (platforms: CharterClaims['platforms'] = { server: {} }): CharterClaims => ({
      iss: 'acme',
      sub: 'app_bench',
      jti: `chr_${randomUUID()}`,
      iat: now() - 10,
      nbf: now() - 10,
      exp: now() + 86400,
      publisher: { id: 'pub_b', name: 'Bench' },
      client_name: 'Bench',
      software_id: 'app_bench',
      software_version: '1',
      scopes: ['orders:read'],
      platforms,
    }),
    /** The bench site's license claims admitting the bench app (`app` overrides its entry). */
    licenseClaims: (app: LicenseClaims['apps'][number] = { app_id: 'app_bench' }): LicenseClaims => ({
      iss: 'acme',
      sub: 'site_bench',
      jti: `lic_${randomUUID()}`,
      serial: 1,
      iat: now() - 10,
      nbf: now() - 10,
      exp: now() + 86400,
      site: { id: 'site_bench', name: 'Bench' },
      keys: [delegation],
      apps: [app],
      revoked: {},
      policy: { mode: 'enforce', token_ttl_s: 3600, proof_skew_s: 300 },
    }),
    /**
     * The license claims for registering many instances of the one charter in seconds (rates raised)
     * with Android attestation chains of the test authority whose root is `attestationRootPem`.
     */
    registeringLicenseClaims(attestationRootPem: string): LicenseClaims {
      return {
        ...this.licenseClaims(),
        policy: {
          mode: 'enforce',
          token_ttl_s: 3600,
          proof_skew_s: 300,
          register_rate: { per_charter_per_min: 1_000_000, per_address_per_min: 1_000_000 },
        },
        attestation: { roots: [attestationRootPem] },
      };
    },
    /** An engine with no HTTP around it, trusting this vendor, at `http://gw.bench`. */
    async engine(
      store: GatewayStore,
      license: string,
      extra: Partial<Parameters<typeof createGateway>[0]> = {},
    ) {
      return createGateway({
        trust: await trustFromDocument({ vendor_id: 'acme', keys: [root.publicJwk] }),
        store,
        license,
        publicUrl: 'http://gw.bench',
        licensePollMs: 0,
        ...extra,
      });
    },
  };
}
