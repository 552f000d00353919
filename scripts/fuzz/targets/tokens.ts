/**
 * In-process targets for the compact JWS parsers: DPoP proofs, access tokens, charters, licenses,
 * revocation updates, activation requests and usage reports. Each calls the real verifier; mutated
 * tokens are often signed again with the right key so the claim checks behind the signature run too.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import {
  verifyActivation,
  verifyCharter,
  verifyLicense,
  verifyReport,
  verifyRevocations,
} from '@charter/core';
import { parseAuthorization, TokenAuthority, verifyDpopProof } from '@charter/gateway';
import { mutateJws, notAString, type Resigner } from '../jose.ts';
import type { Rng } from '../rng.ts';
import { type Harness, outcomeOf, outcomeOfSync, type Target } from '../target.ts';
import { instanceKey, jws, jwsSign, makeWorld, now, sha256b64u } from '../world.ts';

/**
 * Pick a seed, then keep it (5 %), mutate it (90 %) or, for verifiers that take `unknown` (the
 * artifacts read from JSON bodies and files), send a non-string (5 %).
 */
function jwsGenerator(
  seeds: readonly string[],
  resign?: (rng: Rng) => Resigner | undefined,
  stringsOnly = false,
) {
  return (rng: Rng): unknown => {
    const base = rng.pick(seeds);
    const r = rng.int(100);
    if (r < 5) return base;
    if (r < 10 && !stringsOnly) return notAString(rng);
    let t = mutateJws(rng, base, seeds, resign?.(rng));
    if (rng.chance(0.2)) t = mutateJws(rng, t, seeds, resign?.(rng));
    return t;
  };
}

const vendorResigner =
  (key: KeyObject): Resigner =>
  (input) =>
    jwsSign(input, key);

export const dpopProof: Target = {
  name: 'dpop-proof',
  about: 'DPoP proofs (verifyDpopProof): ES256 and EdDSA, with ath, nonce and charter_ath',
  async setup(): Promise<Harness> {
    const keys = [instanceKey('ES256'), instanceKey('EdDSA')];
    const htu = 'https://gw.example/orders';
    const token = 'eyJhbGciOiJFZERTQSJ9.e30.sig';
    const ath = sha256b64u(token);
    const make = () =>
      keys.flatMap((k) => [
        jws(
          { typ: 'dpop+jwt', alg: k.alg, jwk: k.jwk },
          { jti: randomUUID(), htm: 'GET', htu, iat: now() },
          k.privateKey,
        ),
        jws(
          { typ: 'dpop+jwt', alg: k.alg, jwk: k.jwk },
          { jti: randomUUID(), htm: 'GET', htu, iat: now(), ath },
          k.privateKey,
        ),
        jws(
          { typ: 'dpop+jwt', alg: k.alg, jwk: k.jwk },
          { jti: randomUUID(), htm: 'GET', htu, iat: now(), ath, charter_ath: ath, nonce: 'n0nce' },
          k.privateKey,
        ),
      ]);
    const seeds = make();
    const expect = [
      { method: 'GET', htu, skewS: 300 },
      { method: 'GET', htu, skewS: 300, ath },
      { method: 'GET', htu, skewS: 300, ath, charterAth: ath },
    ];
    return {
      seeds,
      generate: (rng) => ({
        e: rng.int(expect.length),
        proof: jwsGenerator(seeds, (r) => vendorResigner(r.pick(keys).privateKey), true)(rng),
      }),
      run(input) {
        const { e, proof } = input as { e: number; proof: string };
        return outcomeOfSync(() =>
          verifyDpopProof(proof, { ...(expect[e] ?? expect[0]), now: now() } as never),
        );
      },
      async refresh() {
        seeds.splice(0, seeds.length, ...make());
      },
    };
  },
};

export const accessToken: Target = {
  name: 'access-token',
  about: 'access tokens (TokenAuthority.verify): at+jwt, EdDSA, cnf.jkt',
  async setup(): Promise<Harness> {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    const authority = await TokenAuthority.create(pkcs8, 'https://gw.example', 'https://gw.example');
    const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    const seeds: string[] = [];
    for (const scope of ['orders:read', 'orders:read orders:write', '']) {
      seeds.push(
        await authority.issue({
          sub: 'ins_1',
          client_id: 'app_beta',
          scope,
          cnf: { jkt: 'A'.repeat(43) },
          iat: now(),
          exp: now() + 3600,
          jti: randomUUID(),
          app_id: 'app_beta',
          publisher_id: 'pub_beta',
          charter_id: 'chr_1',
        } as never),
      );
    }
    // The token comes from an Authorization header: always a string.
    const gen = jwsGenerator(seeds, () => vendorResigner(key), true);
    return {
      seeds,
      generate: gen,
      // As the gateway reads it: from `Authorization: DPoP <token>` (size and syntax first), then verified.
      run: (token) =>
        outcomeOf(() => {
          const t = parseAuthorization(`DPoP ${token as string}`);
          return authority.verify(t, sha256b64u(t), now());
        }),
    };
  },
};

/** A vendor-signed artifact target: the real verifier with a fresh key ring per input. */
function vendorTarget(
  name: string,
  about: string,
  seedsOf: (w: Awaited<ReturnType<typeof makeWorld>>) => string[],
  verify: (token: unknown, w: Awaited<ReturnType<typeof makeWorld>>) => Promise<unknown>,
): Target {
  return {
    name,
    about,
    async setup(seed): Promise<Harness> {
      const w = await makeWorld(seed);
      const seeds = seedsOf(w);
      return {
        seeds,
        generate: jwsGenerator(seeds, () => vendorResigner(w.signingKey)),
        run: (token) => outcomeOf(() => verify(token, w)),
      };
    },
  };
}

export const charter = vendorTarget(
  'charter',
  'charters (verifyCharter): every platform, delegated signing key',
  (w) => Object.values(w.charters),
  (t, w) => verifyCharter(t, w.ring()),
);

export const license = vendorTarget(
  'license',
  'site licenses (verifyLicense): keys, apps, policy, attestation roots',
  (w) => [w.license],
  (t, w) => verifyLicense(t, w.ring()),
);

export const revocations = vendorTarget(
  'revocations',
  'revocation updates (verifyRevocations)',
  (w) => [w.revocations],
  (t, w) => verifyRevocations(t, w.ring()),
);

/** Installation artifacts are signed by the key in their own header: a mutated one is signed again by it. */
function installationTarget(
  name: string,
  about: string,
  pick: (w: Awaited<ReturnType<typeof makeWorld>>) => string[],
  verify: (t: unknown) => Promise<unknown>,
): Target {
  return {
    name,
    about,
    async setup(seed): Promise<Harness> {
      const w = await makeWorld(seed);
      const seeds = pick(w);
      return {
        seeds,
        generate: jwsGenerator(seeds, () => vendorResigner(w.installationKey)),
        run: (t) => outcomeOf(() => verify(t)),
      };
    },
  };
}

export const activation = installationTarget(
  'activation',
  'activation requests (verifyActivation): installation-signed, jwk in the header',
  (w) => [w.activation],
  verifyActivation,
);

export const report = installationTarget(
  'usage-report',
  'usage reports (verifyReport): chained, per-app and per-instance usage',
  (w) => w.reports,
  verifyReport,
);

export const TOKEN_TARGETS = [dpopProof, accessToken, charter, license, revocations, activation, report];
