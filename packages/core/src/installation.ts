/**
 * Artifacts signed by a gateway installation's own key: activation requests
 * (`charter-activation+jwt`) and usage reports (`charter-report+jwt`, SPEC.md §2.3).
 *
 * They are not vendor artifacts: the installation key is self-made, so its public JWK travels in the
 * protected header and `iss` must be that key's thumbprint. What makes them trustworthy to the vendor
 * is the binding recorded at activation: a report counts only if its `iss` is the jkt the vendor bound
 * the site's license to.
 */
import type { KeyObject } from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';
import { MAX_ARTIFACT_BYTES } from './artifact.ts';
import { ClaimReader, ID, JKT } from './claims.ts';
import { CharterError } from './errors.ts';
import { importEd25519PublicJwk, publicJwkOf, thumbprint } from './jwk.ts';
import { decodeJsonSegment, isCanonicalB64, normaliseTyp } from './jws.ts';

/** Installation artifacts, by purpose. */
export const INSTALLATION_TYP = {
  activation: 'charter-activation+jwt',
  report: 'charter-report+jwt',
} as const;

/** Whether the gateway that signed runs a sealed build. */
export type Integrity = 'sealed' | 'unsealed';

/** What an activation request asks the vendor: bind this site's license to this installation. */
export interface ActivationClaims {
  iss: string;
  sub: string;
  jti: string;
  iat: number;
  exp: number;
  installation: { jkt: string };
  gateway_version: string;
  integrity: Integrity;
}

/** Per-app usage in a report. */
export interface ReportAppUsage {
  admitted: number;
  denied: Record<string, number>;
  instances: number;
  unattested_instances?: number;
}

/** A usage report (SPEC.md §2.3). */
export interface ReportClaims {
  iss: string;
  jti: string;
  iat: number;
  site: string;
  seq: number;
  prev?: string;
  period: { from: number; to: number };
  license_serial: number;
  /** The serial of the revocation update in force on top of the license, if any (additive field). */
  revocations_serial?: number;
  integrity: Integrity;
  clock: { rollback_events: number };
  apps: Record<string, ReportAppUsage>;
  unknown: Record<string, number>;
  /** Instances registered in the period and the charter each came with: what lets a leak be traced. */
  instances?: Record<string, { app_id: string; charter_id: string; jkt?: string }>;
}

/** A verified installation artifact: claims and the installation's jkt. */
export interface VerifiedInstallationArtifact<T> {
  claims: T;
  jkt: string;
  header: Record<string, unknown>;
}

const INTEGRITY: readonly Integrity[] = ['sealed', 'unsealed'];

/** Sign an installation artifact with the installation's Ed25519 key, embedding its public JWK. */
export async function signInstallationArtifact(
  kind: keyof typeof INSTALLATION_TYP,
  claims: object,
  key: KeyObject,
): Promise<string> {
  const { kid: _kid, ...jwk } = await publicJwkOf(key);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'EdDSA', typ: INSTALLATION_TYP[kind], jwk })
    .sign(key);
}

/** The installation key's thumbprint (`jkt`). */
export async function installationJkt(key: KeyObject): Promise<string> {
  return (await publicJwkOf(key)).kid;
}

/**
 * Verify an installation artifact: size and shape, `alg` EdDSA, `typ`, an Ed25519 public `jwk` in
 * the header and no other key-selecting member, the signature, `iss` = the key's thumbprint, then
 * the claims via `check`. Refusals are `invalid_request` (the vendor's tools are the only readers).
 */
export async function verifyInstallationArtifact<T>(
  kind: keyof typeof INSTALLATION_TYP,
  input: unknown,
  check: (p: Record<string, unknown>, r: ClaimReader) => void,
): Promise<VerifiedInstallationArtifact<T>> {
  const fail = (detail: string, why: string): never => {
    throw new CharterError('invalid_request', detail, why);
  };
  if (typeof input !== 'string') return fail('ERR_FORMAT', 'the artifact is not a string');
  if (input.length > MAX_ARTIFACT_BYTES * 4) return fail('ERR_SIZE', 'the artifact is too large');
  const parts = input.split('.');
  if (
    parts.length !== 3 ||
    !parts.every((p) => p.length > 0 && /^[A-Za-z0-9_-]+$/.test(p) && isCanonicalB64(p))
  ) {
    return fail('ERR_FORMAT', 'the artifact is not a compact JWS');
  }
  const header = decodeJsonSegment(parts[0] as string);
  if (!header) return fail('ERR_HEADER', 'the protected header is not a JSON object');
  if (header.alg !== 'EdDSA') return fail('ERR_ALG', 'installation artifacts are signed with EdDSA');
  if (typeof header.typ !== 'string' || normaliseTyp(header.typ) !== INSTALLATION_TYP[kind]) {
    return fail('ERR_TYP', `wrong artifact type (expected ${INSTALLATION_TYP[kind]})`);
  }
  for (const name of ['jku', 'x5u', 'x5c', 'crit', 'b64'])
    if (name in header) fail('ERR_HEADER_KEY', `the header member ${name} is refused`);
  const key = importEd25519PublicJwk(header.jwk);
  if (!key) return fail('ERR_HEADER_KEY', 'the header has no Ed25519 public jwk');
  try {
    await compactVerify(input, key, { algorithms: ['EdDSA'] });
  } catch {
    fail(
      'ERR_SIGNATURE',
      'the signature does not verify (the artifact was edited, or is not from this installation)',
    );
  }
  const payload = decodeJsonSegment(parts[1] as string);
  if (!payload) return fail('ERR_PAYLOAD', 'the payload is not a JSON object');
  const jkt = await thumbprint(header.jwk as never);
  if (payload.iss !== jkt) fail('ERR_ISS', 'iss is not the thumbprint of the signing key');
  check(payload, new ClaimReader('invalid_request'));
  return { claims: payload as T, jkt, header };
}

/** Verify an activation request. */
export async function verifyActivation(
  input: unknown,
): Promise<VerifiedInstallationArtifact<ActivationClaims>> {
  return verifyInstallationArtifact<ActivationClaims>('activation', input, (p, r) => {
    r.string(p.iss, 'iss', JKT);
    r.string(p.sub, 'sub', ID);
    r.string(p.jti, 'jti', ID);
    r.integer(p.iat, 'iat');
    r.integer(p.exp, 'exp');
    const inst = r.object(p.installation, 'installation');
    if (r.string(inst.jkt, 'installation.jkt', JKT) !== p.iss) r.fail('installation.jkt', 'must equal iss');
    r.string(p.gateway_version, 'gateway_version', undefined, 64);
    r.oneOf(p.integrity, 'integrity', INTEGRITY);
  });
}

function counts(r: ClaimReader, value: unknown, path: string): void {
  const o = r.object(value, path);
  for (const [k, v] of Object.entries(o)) r.integer(v, `${path}.${k}`);
}

/** Verify a usage report's signature and shape (chain checks are the reader's: see `vendor report verify`). */
export async function verifyReport(input: unknown): Promise<VerifiedInstallationArtifact<ReportClaims>> {
  return verifyInstallationArtifact<ReportClaims>('report', input, (p, r) => {
    r.string(p.iss, 'iss', JKT);
    r.string(p.jti, 'jti', ID);
    r.integer(p.iat, 'iat');
    r.string(p.site, 'site', ID);
    const seq = r.integer(p.seq, 'seq', 1);
    if (seq === 1 && p.prev !== undefined) r.fail('prev', 'must be absent on the first report');
    if (seq > 1) r.string(p.prev, 'prev', JKT);
    const period = r.object(p.period, 'period');
    const from = r.integer(period.from, 'period.from');
    if (r.integer(period.to, 'period.to') < from) r.fail('period.to', 'must not be before period.from');
    r.integer(p.license_serial, 'license_serial');
    r.optionalInteger(p.revocations_serial, 'revocations_serial', 1);
    r.oneOf(p.integrity, 'integrity', INTEGRITY);
    r.integer(r.object(p.clock, 'clock').rollback_events, 'clock.rollback_events');
    const apps = r.object(p.apps, 'apps');
    for (const [id, usage] of Object.entries(apps)) {
      const u = r.object(usage, `apps.${id}`);
      r.integer(u.admitted, `apps.${id}.admitted`);
      counts(r, u.denied, `apps.${id}.denied`);
      r.integer(u.instances, `apps.${id}.instances`);
      r.optionalInteger(u.unattested_instances, `apps.${id}.unattested_instances`);
    }
    counts(r, p.unknown, 'unknown');
    const instances = r.optionalObject(p.instances, 'instances');
    for (const [id, v] of Object.entries(instances ?? {})) {
      if (!ID.test(id)) r.fail('instances', 'has a key that is not an id');
      const o = r.object(v, `instances.${id}`);
      r.string(o.app_id, `instances.${id}.app_id`, ID);
      r.string(o.charter_id, `instances.${id}.charter_id`, ID);
      // Additive: the instance key thumbprint, set against the vendor attester's records.
      if (o.jkt !== undefined) r.string(o.jkt, `instances.${id}.jkt`, JKT);
    }
  });
}
