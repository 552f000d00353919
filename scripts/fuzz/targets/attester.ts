/**
 * The vendor's online attester (`charter vendor attester serve`), driven over real loopback sockets
 * to a real attester (`startAttester` of @charter/issuer on 127.0.0.1:0, a real vendor home in a temp
 * dir, its records on a real SQLite file): `POST /attester/v1/challenge`, `POST /attester/v1/attest`
 * (charter, site_id, platform, attestation, with the DPoP proof in `DPoP`), and every other route,
 * method and path. As at the gateway, a proof is either described and signed when the input runs,
 * with a challenge nonce fetched from the attester then (so mutated bodies get past the proof and
 * the spent-nonce check), or written out and mutated as a JWS. Device evidence (Android Key
 * Attestation, App Attest) is described too and minted when the input runs by the attest package's
 * test PKIs for that nonce and key (the license names their roots), then damaged by a generator
 * seeded from the input. A few inputs go to a second attester on the same records with small rate
 * limits, so `rate_limited` (per source and per charter) is exercised without throttling the rest.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestAppAttestAuthority, createTestAttestationAuthority } from '@charter/attest/testing';
import { thumbprint } from '@charter/core';
import {
  ATTESTER_ROUTES,
  openVendorDb,
  type RunningAttester,
  SqliteAttesterRecords,
  startAttester,
  Vendor,
} from '@charter/issuer';
import { pino } from 'pino';
import { mutateText, nastyString } from '../bytes.ts';
import { mutateCbor } from '../cbor.ts';
import { mutateDer } from '../der.ts';
import { type HttpInput, mutateBody, mutateHeaders, mutatePath, send, wireAgent } from '../http.ts';
import { mutateJws } from '../jose.ts';
import { mutateJsonValue, randomValue, toJsonText } from '../json.ts';
import { Rng } from '../rng.ts';
import { Finding, type Harness, type Target } from '../target.ts';
import { BUNDLE, DIGEST, instanceKey, jws, makeWorld, now, PACKAGE, TEAM } from '../world.ts';

/**
 * Stand-ins in the body text for what this run's vendor made (its charters and site ids are new on
 * every setup) and for the device evidence minted when the input runs: `"$charter:NAME"`,
 * `"$site:NAME"`, `"$evidence"`. So a written input replays as it ran (`--replay`), on a new vendor.
 */
const STAND_IN = /"\$(charter|site|evidence)(?::([A-Za-z]+))?"/g;
const charterIn = (name: string): string => `$charter:${name}`;
const siteIn = (name: string): string => `$site:${name}`;
const EVIDENCE = '$evidence';

/** A DPoP proof to sign when the input runs. */
interface ProofSpec {
  key: number;
  htm?: string;
  /** A full URL, or a path on the attester's own base. */
  htu?: string;
  iatOffset?: number;
  /**
   * `fresh`: a challenge of the attester fetched when the input runs; `none`: no nonce claim;
   * `spent`: the last fresh one (already spent when that input got far enough); `expired`/`far`: a
   * nonce MACed with the records' secret that expired a second ago / expires in 2106; else as is.
   */
  nonce?: 'fresh' | 'none' | 'spent' | 'expired' | 'far' | string;
  jti?: string;
  extra?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Sign with another key than the header's. */
  wrongKey?: boolean;
}

/** Device evidence to mint when the input runs, for the proof's nonce and key. */
interface EvidenceSpec {
  kind: 'android' | 'ios';
  /** Android: the instance key attested (the proof's own key unless changed); iOS: the App Attest key. */
  key: number;
  /** Android: commit to SHA-256(nonce) (what devices do) or to the SPEC §3 binding of nonce and jkt. */
  challenge?: 'nonce' | 'binding' | 'other';
  packageName?: string;
  appId?: string;
  development?: boolean;
  /** Damage the minted evidence with a generator of this seed (DER, CBOR, JSON, text). */
  damage?: number;
}

export interface AttesterInput {
  req: HttpInput;
  /** Mutate each charter of the body as a JWS with a generator of this seed (not signed again). */
  charterDamage?: number;
  proof?: ProofSpec;
  evidence?: EvidenceSpec;
  /** Send to the attester with small rate limits. */
  limited?: boolean;
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/** Minted evidence damaged: a certificate through the DER mutator, the CBOR object, a field as JSON or text. */
function damageEvidence(rng: Rng, kind: 'android' | 'ios', ev: Record<string, unknown>): unknown {
  const r = rng.int(100);
  if (kind === 'android') {
    const x5c = [...(ev.x5c as string[])];
    if (r < 45) {
      const i = rng.int(x5c.length);
      const der = mutateDer(rng, b64(x5c[i] as string), x5c.map(b64));
      x5c[i] = Buffer.from(der).toString('base64');
      return { ...ev, x5c };
    }
    if (r < 60) {
      // Chain order and length: a certificate dropped, doubled, moved, or the root left out.
      const op = rng.int(4);
      if (op === 0) x5c.splice(rng.int(x5c.length), 1);
      else if (op === 1) x5c.splice(rng.int(x5c.length), 0, x5c[rng.int(x5c.length)] as string);
      else if (op === 2) x5c.reverse();
      else x5c.pop();
      return { ...ev, x5c };
    }
    if (r < 70) {
      const i = rng.int(x5c.length);
      x5c[i] = mutateText(rng, x5c[i] as string);
      return { ...ev, x5c };
    }
    return mutateJsonValue(rng, ev);
  }
  if (r < 50) {
    const m = mutateCbor(rng, b64(ev.attestation as string));
    return { ...ev, attestation: Buffer.from(m).toString(rng.chance(0.9) ? 'base64' : 'base64url') };
  }
  if (r < 60) return { ...ev, key_id: mutateText(rng, ev.key_id as string) };
  if (r < 70) return { ...ev, attestation: mutateText(rng, ev.attestation as string) };
  return mutateJsonValue(rng, ev);
}

/** A proof spec mutated: wrong method, URL, time, nonce, odd claims or header fields, another key. */
function mutateProofSpec(rng: Rng, p: ProofSpec, base: string, keys: number): ProofSpec | undefined {
  const out: ProofSpec = { ...p };
  switch (rng.int(12)) {
    case 0:
      out.htm = rng.pick(['GET', 'post', 'PUT', '', 'POST ', nastyString(rng)]);
      break;
    case 1:
      out.htu = rng.pick([
        `${base}${ATTESTER_ROUTES.challenge}`,
        `${base}${ATTESTER_ROUTES.attest}?x=1`,
        `${base}${ATTESTER_ROUTES.attest}/`,
        `${base.replace('http:', 'https:')}${ATTESTER_ROUTES.attest}`,
        `${base.replace('127.0.0.1', 'localhost')}${ATTESTER_ROUTES.attest}`,
        'https://evil.example/attester/v1/attest',
        `${base}/ATTESTER/v1/attest`,
        `${base}//attester/v1/attest`,
        `${base}/attester/v1/%61ttest`,
        `${base}${ATTESTER_ROUTES.attest}#x`,
        nastyString(rng),
      ]);
      break;
    case 2:
      out.iatOffset = rng.pick([-100_000, -61, -59, 59, 61, 100_000, 2 ** 40, -(2 ** 40)]);
      break;
    case 3:
      out.nonce = rng.pick([
        'none',
        'spent',
        'expired',
        'far',
        'stale-nonce',
        '',
        'A'.repeat(48),
        nastyString(rng),
      ]);
      break;
    case 4:
      out.jti = rng.pick(['fixed-jti', '', 'x'.repeat(5000), nastyString(rng)]);
      break;
    case 5:
      out.extra = {
        [rng.pick(['jti', 'htm', 'htu', 'iat', 'nonce', 'ath', 'exp', 'nbf', 'cnf', '__proto__'])]:
          randomValue(rng),
      };
      break;
    case 6:
      out.header = {
        [rng.pick(['alg', 'typ', 'jwk', 'kid', 'crit', 'b64', 'x5c', 'jku'])]: randomValue(rng),
      };
      break;
    case 7:
      out.wrongKey = true;
      break;
    case 8:
      out.key = rng.int(keys);
      break;
    case 9:
      return undefined;
    default:
      break;
  }
  return out;
}

/** A request mutated at the HTTP level: headers, path (case, encodings, slashes), method. */
function httpDamage(rng: Rng, req: HttpInput): HttpInput {
  const r = rng.int(100);
  if (r < 70) return req;
  if (r < 84) return { ...req, headers: mutateHeaders(rng, req.headers) };
  if (r < 95)
    return {
      ...req,
      url: rng.chance(0.5)
        ? mutatePath(rng, req.url)
        : rng.pick([
            req.url.toUpperCase(),
            req.url.replace('/attester/', '/Attester/'),
            `${req.url}/`,
            `${req.url}//`,
            req.url.replace(/t/g, '%74'),
            req.url.replace('/v1/', '/v1/./'),
            req.url.replace('/v1/', '/v2/../v1/'),
            req.url.replace(/\//g, '%2f'),
            `${req.url}%20`,
            `${req.url}?`,
            `${req.url}.json`,
          ]),
    };
  return {
    ...req,
    method: rng.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'post', 'PROPFIND', 'CONNECT']),
  };
}

export const attester: Target = {
  name: 'attester',
  about:
    'the vendor attester over sockets: POST /attester/v1/challenge and /attester/v1/attest (charter, site, platform, Android and App Attest evidence, DPoP proofs), its other routes and paths',
  async setup(seed): Promise<Harness> {
    const w = await makeWorld(seed);
    const dir = mkdtempSync(join(tmpdir(), 'charter-fuzz-attester-'));
    const vendor = new Vendor(openVendorDb(join(dir, 'vendor.db')), { name: 'fuzz (cli)' });
    await vendor.init({ vendorId: 'acme', name: 'Acme', passphrase: 'a fuzz passphrase' });
    const { publisher_id: publisherId } = vendor.addPublisher({ name: 'Beta Apps' });
    const approved = async (
      name: string,
      fields: Record<string, unknown>,
      attestation?: 'required' | 'optional',
    ) => {
      const sub = vendor.submitApp({
        publisherId,
        name,
        scopes: ['orders:read'],
        ...fields,
        ...(attestation ? { attestation } : {}),
      });
      const { charter } = await vendor.approve({ submissionId: sub.submission_id, ttlS: 86400 * 30 });
      return { appId: sub.app_id, charter };
    };
    const android = { androidPackage: PACKAGE, androidCertSha256: [DIGEST] };
    const ios = { iosTeamId: TEAM, iosBundleId: BUNDLE };
    const web = { webOrigins: ['https://beta.example'] };
    const apps = {
      all: await approved('Beta All', { ...android, ...ios, ...web, server: true }, 'optional'),
      web: await approved('Beta Web', web),
      server: await approved('Beta Server', { server: true }),
      android: await approved('Beta Android', android, 'required'),
      ios: await approved('Beta iOS', ios, 'required'),
      revoked: await approved('Beta Revoked', { server: true }),
      unlicensed: await approved('Beta Unlicensed', { server: true }),
    };
    // A site whose only license has lapsed (one second, no grace).
    const lapsedSite = vendor.addSite({ name: 'Lapsed' }).site_id;
    await vendor.issueLicense({ siteId: lapsedSite, appIds: [apps.server.appId], ttlS: 1, graceS: 0 });
    const lapsedAt = Date.now();
    const site = vendor.addSite({ name: 'Hospital A' }).site_id;
    const pkiAndroid = createTestAttestationAuthority();
    const pkiApple = createTestAppAttestAuthority();
    await vendor.issueLicense({
      siteId: site,
      appIds: [apps.all, apps.web, apps.server, apps.android, apps.ios, apps.revoked].map((a) => a.appId),
      ttlS: 86400 * 30,
      attestation: { roots: [pkiAndroid.rootPem, pkiApple.rootPem] },
    });
    vendor.revoke({ kind: 'app', target: apps.revoked.appId, reason: 'fuzz: a revoked app' });
    const sites: Record<string, string> = { a: site, lapsed: lapsedSite };
    const charters: Record<string, string> = {
      ...Object.fromEntries(Object.entries(apps).map(([k, a]) => [k, a.charter])),
      // Another vendor's (the fuzz world's), for every platform.
      foreign: w.charters.all,
      foreignAndroid: w.charters.android,
    };
    const charterList = Object.values(charters);
    const charterNames = Object.keys(charters);

    const recordsFile = join(dir, 'attester.db');
    const records = new SqliteAttesterRecords(recordsFile);
    const silent = pino({ level: 'silent' });
    const main: RunningAttester = await startAttester({
      vendor,
      records,
      // A campaign attests hundreds of thousands of times from one address with a handful of charters.
      ratePerCharterPerMin: 1_000_000_000,
      ratePerSourcePerMin: 1_000_000_000,
      logger: silent,
    });
    // The same records (so the same challenge secret and spent nonces), small limits.
    const limited: RunningAttester = await startAttester({
      vendor,
      records: new SqliteAttesterRecords(recordsFile),
      ratePerCharterPerMin: 3,
      ratePerSourcePerMin: 20,
      logger: silent,
    });
    const secret = await records.secret();
    const agents = { main: wireAgent(), limited: wireAgent() };

    const keys = [instanceKey('ES256'), instanceKey('ES256'), instanceKey('EdDSA'), instanceKey('ES256')];
    const jkts = await Promise.all(keys.map((k) => thumbprint(k.jwk as never)));
    const appleKeys = [0, 1].map(() => {
      const k = instanceKey('ES256');
      return { publicKey: k.publicKey, privateKey: k.privateKey };
    });

    let lastNonce = '';
    const fetchNonce = async (): Promise<string> => {
      let r: Response;
      try {
        r = await fetch(`${main.url}${ATTESTER_ROUTES.challenge}`, { method: 'POST' });
      } catch (e) {
        throw new Finding('crash', `the challenge request failed: ${(e as Error)?.message ?? e}`);
      }
      const text = await r.text();
      const nonce = (JSON.parse(text) as { nonce?: string }).nonce;
      if (r.status !== 200 || typeof nonce !== 'string')
        throw new Finding(
          r.status >= 500 ? '5xx' : 'uncatalogued',
          `the challenge answered ${r.status} ${text.slice(0, 200)}`,
        );
      return nonce;
    };
    /** A nonce in the attester's documented shape, MACed with the records' secret, expiring at `exp`. */
    const forged = (exp: number): string => {
      const body = Buffer.alloc(20);
      randomBytes(16).copy(body);
      body.writeUInt32BE(exp >>> 0, 16);
      const mac = createHmac('sha256', secret).update(body).digest().subarray(0, 16);
      return Buffer.concat([body, mac]).toString('base64url');
    };

    const nonceOf = async (p: ProofSpec): Promise<string | undefined> => {
      switch (p.nonce ?? 'fresh') {
        case 'fresh':
          lastNonce = await fetchNonce();
          return lastNonce;
        case 'none':
          return undefined;
        case 'spent':
          return lastNonce || undefined;
        case 'expired':
          return forged(now() - 1);
        case 'far':
          return forged(0xffff_ffff);
        default:
          return p.nonce;
      }
    };

    const sign = (p: ProofSpec, nonce: string | undefined, base: string): string => {
      const k = keys[p.key % keys.length] as (typeof keys)[number];
      const claims: Record<string, unknown> = {
        jti: p.jti ?? randomUUID(),
        htm: p.htm ?? 'POST',
        htu:
          p.htu === undefined
            ? `${base}${ATTESTER_ROUTES.attest}`
            : p.htu.startsWith('/')
              ? `${base}${p.htu}`
              : p.htu,
        iat: now() + (p.iatOffset ?? 0),
        ...(nonce !== undefined ? { nonce } : {}),
        ...p.extra,
      };
      const header = { typ: 'dpop+jwt', alg: k.alg, jwk: k.jwk, ...p.header };
      const signer = p.wrongKey
        ? (keys[(p.key + 1) % keys.length] as (typeof keys)[number]).privateKey
        : k.privateKey;
      return jws(header, claims, signer);
    };

    const mint = (e: EvidenceSpec, nonce: string, proofKey: number): unknown => {
      const jkt = jkts[proofKey % keys.length] as string;
      const binding = createHash('sha256').update(`${nonce}.${jkt}`, 'ascii').digest();
      let ev: Record<string, unknown>;
      if (e.kind === 'android') {
        const challenge =
          e.challenge === 'binding'
            ? binding
            : createHash('sha256')
                .update(e.challenge === 'other' ? `${nonce}x` : nonce, 'ascii')
                .digest();
        // Ed25519 is no Android Keystore key: those evidence specs attest an EC key instead.
        const k = keys[e.key % keys.length] as (typeof keys)[number];
        const attested = k.alg === 'ES256' ? k : (keys[0] as (typeof keys)[number]);
        ev = {
          fmt: 'android-key',
          x5c: pkiAndroid.attest({
            challenge,
            publicKey: attested.publicKey,
            packageName: e.packageName ?? PACKAGE,
            signingCertDigests: [DIGEST],
          }).x5c,
        };
      } else {
        const a = pkiApple.attest({
          appId: e.appId ?? `${TEAM}.${BUNDLE}`,
          clientDataHash: binding,
          keyPair: appleKeys[e.key % appleKeys.length] as (typeof appleKeys)[number],
          ...(e.development ? { development: true } : {}),
        });
        ev = { fmt: 'apple-appattest', key_id: a.keyIdB64, attestation: a.attestationB64 };
      }
      return e.damage === undefined ? ev : damageEvidence(new Rng(e.damage), e.kind, ev);
    };

    // Proofs written out, mutated as JWS text: remade with a fresh time and nonce as they age.
    let literal: string[] = [];
    let literalAt = 0;
    const remakeLiterals = async () => {
      const nonce = await fetchNonce();
      literal = [0, 2].map((i) => sign({ key: i, nonce }, nonce, main.url));
      literalAt = Date.now();
    };
    await remakeLiterals();

    const run = async (input: AttesterInput): Promise<string> => {
      // Between inputs in effect: before this one's own requests. Proofs age out of the 60 s skew.
      if (Date.now() - literalAt > 30_000) await remakeLiterals();
      const target = input.limited ? limited : main;
      const req: HttpInput = { ...input.req, headers: { ...input.req.headers } };
      let nonce: string | undefined;
      if (input.proof) {
        nonce = await nonceOf(input.proof);
        req.headers.dpop = sign(input.proof, nonce, target.url);
      }
      if (typeof req.body === 'string' && req.body.includes('"$')) {
        const damage = input.charterDamage === undefined ? undefined : new Rng(input.charterDamage);
        // Each value made once per input: a mutated body can repeat a stand-in tens of thousands of
        // times, and minting evidence for each would be the harness's time, not the attester's.
        const made = new Map<string, string>();
        req.body = req.body.replace(STAND_IN, (m, kind: string, name: string | undefined) => {
          const known = made.get(m);
          if (known !== undefined) return known;
          let value = m;
          if (kind === 'evidence')
            value = input.evidence
              ? toJsonText(mint(input.evidence, nonce ?? 'n', input.proof?.key ?? 0))
              : 'null';
          else if (name !== undefined && kind === 'site' && Object.hasOwn(sites, name))
            value = JSON.stringify(sites[name]);
          else if (name !== undefined && kind === 'charter' && Object.hasOwn(charters, name)) {
            const c = charters[name] as string;
            value = JSON.stringify(damage ? mutateJws(damage, c, charterList) : c);
          }
          made.set(m, value);
          return value;
        });
      }
      return send(input.limited ? agents.limited : agents.main, target.url, req);
    };

    // The valid requests of each route: each must be answered 200 (checked below).
    const attest = (body: Record<string, unknown>, key: number, evidence?: EvidenceSpec): AttesterInput => ({
      req: {
        method: 'POST',
        url: ATTESTER_ROUTES.attest,
        headers: { 'content-type': 'application/json' },
        // `attestation: EVIDENCE` is the stand-in, replaced when the input runs.
        body: JSON.stringify(body),
      },
      proof: { key, nonce: 'fresh' },
      ...(evidence ? { evidence } : {}),
    });
    const valid: AttesterInput[] = [
      // No body (Content-Length: 0, as fetch sends it) and the SDK's `{}`.
      { req: { method: 'POST', url: ATTESTER_ROUTES.challenge, headers: {}, body: '' } },
      {
        req: {
          method: 'POST',
          url: ATTESTER_ROUTES.challenge,
          headers: { 'content-type': 'application/json' },
          body: '{}',
        },
      },
      { req: { method: 'GET', url: ATTESTER_ROUTES.jwks, headers: {} } },
      { req: { method: 'GET', url: '/healthz', headers: {} } },
      { req: { method: 'GET', url: '/readyz', headers: {} } },
      { req: { method: 'GET', url: '/metrics', headers: {} } },
      attest({ charter: charterIn('web'), site_id: siteIn('a'), platform: 'web' }, 0),
      attest({ charter: charterIn('all'), site_id: siteIn('a'), platform: 'web' }, 2),
      attest({ charter: charterIn('server'), site_id: siteIn('a'), platform: 'server' }, 1),
      attest({ charter: charterIn('all'), site_id: siteIn('a'), platform: 'server' }, 3),
      // Optional attestation (the all-platform charter): key only, and with evidence.
      attest({ charter: charterIn('all'), site_id: siteIn('a'), platform: 'android' }, 0),
      attest({ charter: charterIn('all'), site_id: siteIn('a'), platform: 'ios' }, 2),
      attest(
        { charter: charterIn('android'), site_id: siteIn('a'), platform: 'android', attestation: EVIDENCE },
        0,
        {
          kind: 'android',
          key: 0,
        },
      ),
      attest(
        { charter: charterIn('android'), site_id: siteIn('a'), platform: 'android', attestation: EVIDENCE },
        3,
        {
          kind: 'android',
          key: 3,
          challenge: 'binding',
        },
      ),
      attest(
        { charter: charterIn('all'), site_id: siteIn('a'), platform: 'android', attestation: EVIDENCE },
        1,
        {
          kind: 'android',
          key: 1,
        },
      ),
      attest({ charter: charterIn('ios'), site_id: siteIn('a'), platform: 'ios', attestation: EVIDENCE }, 0, {
        kind: 'ios',
        key: 0,
      }),
      attest({ charter: charterIn('all'), site_id: siteIn('a'), platform: 'ios', attestation: EVIDENCE }, 2, {
        kind: 'ios',
        key: 1,
      }),
    ];
    // Well formed and refused: what the checks behind the proof say.
    const refused: AttesterInput[] = [
      attest({ charter: charterIn('server'), site_id: 'site_unknown', platform: 'server' }, 0),
      attest({ charter: charterIn('server'), site_id: siteIn('lapsed'), platform: 'server' }, 0),
      attest({ charter: charterIn('unlicensed'), site_id: siteIn('a'), platform: 'server' }, 0),
      attest({ charter: charterIn('revoked'), site_id: siteIn('a'), platform: 'server' }, 0),
      attest({ charter: charterIn('web'), site_id: siteIn('a'), platform: 'android' }, 0),
      attest({ charter: charterIn('android'), site_id: siteIn('a'), platform: 'android' }, 0),
      attest({ charter: charterIn('ios'), site_id: siteIn('a'), platform: 'ios' }, 0),
      attest({ charter: charterIn('foreign'), site_id: siteIn('a'), platform: 'server' }, 0),
      attest(
        { charter: charterIn('android'), site_id: siteIn('a'), platform: 'android', attestation: EVIDENCE },
        0,
        {
          kind: 'android',
          key: 1,
        },
      ),
      attest(
        { charter: charterIn('android'), site_id: siteIn('a'), platform: 'android', attestation: EVIDENCE },
        0,
        {
          kind: 'android',
          key: 0,
          packageName: 'com.clone.orders',
        },
      ),
      attest({ charter: charterIn('ios'), site_id: siteIn('a'), platform: 'ios', attestation: EVIDENCE }, 0, {
        kind: 'ios',
        key: 0,
        appId: `${TEAM}.com.clone.orders`,
      }),
      attest(
        { charter: charterIn('ios'), site_id: siteIn('a'), platform: 'android', attestation: EVIDENCE },
        0,
        {
          kind: 'ios',
          key: 0,
        },
      ),
    ];
    const corpus = [...valid, ...refused];
    const attests = corpus.filter((s) => s.req.url === ATTESTER_ROUTES.attest);
    const docs = attests.map((s) => JSON.parse(s.req.body as string) as unknown);

    // The lapsed license must have lapsed before the seeds run (exp + 0 s grace < now).
    const wait = lapsedAt + 2100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (const s of valid) {
      const outcome = await run(s);
      if (outcome !== 'ok_200')
        throw new Error(
          `fuzz setup: the valid ${s.req.method} ${s.req.url} ${String(s.req.body ?? '').slice(0, 80)} got ${outcome}`,
        );
    }

    const other = (rng: Rng): AttesterInput => {
      // The other routes and unknown ones, any method, some with a body.
      const url = rng.pick([
        '/healthz',
        '/readyz',
        '/metrics',
        ATTESTER_ROUTES.jwks,
        ATTESTER_ROUTES.challenge,
        ATTESTER_ROUTES.attest,
        '/attester/v1/',
        '/attester/',
        '/attester/v2/attest',
        '/',
        '/charter/v1/register',
      ]);
      const method = rng.pick(['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH']);
      const withBody = method !== 'GET' && method !== 'HEAD' && rng.chance(0.5);
      const m = withBody ? mutateBody(rng, rng.pick(docs), docs) : undefined;
      return {
        req: httpDamage(rng, {
          method,
          url,
          headers: m ? { 'content-type': m.type ?? 'application/json' } : {},
          ...(m ? { body: m.body } : {}),
        }),
        ...(rng.chance(0.3) ? { proof: { key: rng.int(keys.length), htu: url } } : {}),
      };
    };

    return {
      seeds: corpus,
      generate(rng) {
        const r = rng.int(100);
        let input: AttesterInput;
        if (r < 4) input = rng.pick(corpus);
        else if (r < 12) input = other(rng);
        else if (r < 18) {
          // The challenge route: bodies, content types, methods, paths, headers.
          const m = rng.chance(0.5) ? mutateBody(rng, {}, docs) : undefined;
          input = {
            req: httpDamage(rng, {
              method: 'POST',
              url: ATTESTER_ROUTES.challenge,
              headers: m ? { 'content-type': m.type ?? 'application/json' } : {},
              ...(m ? { body: m.body } : {}),
            }),
          };
        } else {
          const s = rng.pick(attests);
          const doc = { ...(JSON.parse(s.req.body as string) as Record<string, unknown>) };
          let text: string;
          let type: string | undefined;
          let charterDamage: number | undefined;
          const b = rng.int(100);
          if (b < 20 && typeof doc.charter === 'string') {
            // The vendor's charter key stays in its home: mutated charters reach the signature check
            // (`charter` re-signs them); valid ones are swapped between platforms and sites.
            if (rng.chance(0.3)) doc.charter = charterIn(rng.pick(charterNames));
            else charterDamage = rng.u32();
            text = JSON.stringify(doc);
          } else if (b < 30) {
            doc[rng.pick(['site_id', 'platform'])] = rng.pick<unknown>([
              siteIn('a'),
              siteIn('lapsed'),
              'site_unknown',
              'android',
              'ios',
              'web',
              'server',
              'Android',
              'web ',
              '',
              'x'.repeat(129),
              randomValue(rng),
            ]);
            text = toJsonText(doc);
          } else if (b < 45) {
            text = JSON.stringify(doc);
          } else {
            const m = mutateBody(rng, doc, docs);
            text = m.body;
            type = m.type;
          }
          let evidence = s.evidence;
          if (evidence && rng.chance(0.5)) {
            const e = rng.int(10);
            evidence = {
              ...evidence,
              ...(e < 6
                ? { damage: rng.u32() }
                : e < 7
                  ? { challenge: rng.pick(['nonce', 'binding', 'other'] as const) }
                  : e < 8
                    ? { key: rng.int(keys.length) }
                    : e < 9
                      ? { development: true }
                      : { kind: evidence.kind === 'android' ? 'ios' : 'android' }),
            };
          }
          const headers: Record<string, string | string[]> = { 'content-type': type ?? 'application/json' };
          input = {
            req: httpDamage(rng, {
              method: 'POST',
              url: ATTESTER_ROUTES.attest,
              headers,
              body: text,
            }),
            proof: s.proof as ProofSpec,
            ...(evidence ? { evidence } : {}),
            ...(charterDamage !== undefined ? { charterDamage } : {}),
          };
          const p = rng.int(100);
          if (p < 25) {
            const spec = mutateProofSpec(rng, input.proof as ProofSpec, main.url, keys.length);
            if (spec) input.proof = spec;
            else delete input.proof;
          } else if (p < 35) {
            delete input.proof;
            input.req.headers.dpop = mutateJws(rng, rng.pick(literal), literal);
          }
        }
        if (rng.chance(0.03)) input = { ...input, limited: true };
        return input;
      },
      run: (input) => run(input as AttesterInput),
      refresh: remakeLiterals,
      async close() {
        agents.main.destroy();
        agents.limited.destroy();
        await limited.close();
        await main.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
