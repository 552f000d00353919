/**
 * `POST /charter/v1/client-attestation`: a registered instance, authenticated exactly as a protected
 * request (its Charter access token and a DPoP proof bound to it, so every admission check — token,
 * proof, replay, revocations of the license and of the operator, admission, rate — applies), gets a
 * Client Attestation JWT for the customer's OAuth server. Nothing monitor mode would only note is
 * vouched for: a third party relies on this statement.
 */
import { newId } from '@charter/core';
import { admit } from './admit.ts';
import type { ClientAttester } from './client-attester.ts';
import { CLIENT_ATTESTATION_MAX_TTL_S } from './client-attester.ts';
import { type DecisionNotes, type EngineContext, refusal } from './context.ts';
import type { InstanceKey } from './instance-key.ts';
import type { CharterRequest } from './request.ts';

/** The answer: the attestation, the client id it speaks for, and its lifetime. */
export interface ClientAttestationResult {
  client_attestation: string;
  client_id: string;
  expires_in: number;
}

/** What the attester needs beyond the engine: its key, the site's client map and the issuer. */
export interface AttesterContext {
  attester: ClientAttester;
  clients: ReadonlyMap<string, string>;
  issuer: string;
}

/** Issue a client attestation, or throw the refusal. */
export async function clientAttestation(
  ctx: EngineContext,
  att: AttesterContext,
  req: CharterRequest,
  notes: DecisionNotes,
): Promise<ClientAttestationResult> {
  const proven: { key?: InstanceKey; charterEndpoint: boolean } = { charterEndpoint: true };
  const app = await admit(ctx, req, notes, proven);
  const monitored = notes.monitored[0];
  if (monitored) throw monitored;
  const key = proven.key;
  if (!key) throw refusal('invalid_dpop_proof', 'ERR_DPOP_MISSING', 'the request carries no DPoP proof');
  const instance = await ctx.store.getInstance(app.instance_id);
  if (!instance || instance.jkt !== key.jkt)
    throw refusal('invalid_token', 'ERR_INSTANCE_UNKNOWN', 'no such instance is registered here');
  // On platforms with hardware attestation, an instance registered without it (a charter that makes
  // it optional) proves nothing about the binary: it may call the API, but Charter does not vouch for it.
  if ((instance.platform === 'android' || instance.platform === 'ios') && !instance.attested)
    throw refusal(
      'attestation_required',
      'ERR_CLIENT_ATTESTATION_UNATTESTED',
      'a client attestation needs an instance proven by hardware attestation on this platform',
    );
  const clientId = att.clients.get(app.app_id);
  if (clientId === undefined)
    throw refusal(
      'invalid_request',
      'ERR_OAUTH_CLIENT_UNMAPPED',
      'this site maps no OAuth client id to this app (gateway start --oauth-clients)',
    );
  const now = ctx.now();
  const license = ctx.license();
  const exp = Math.min(
    now + Math.min(CLIENT_ATTESTATION_MAX_TTL_S, license.tokenTtlS),
    instance.charter_exp,
    license.exp,
  );
  if (exp <= now)
    throw refusal('charter_expired', 'ERR_CHARTER_EXPIRED', 'the charter of this instance has expired');
  const { kty, crv, x, y } = key.key.export({ format: 'jwk' });
  const client_attestation = await att.attester.sign({
    iss: att.issuer,
    sub: clientId,
    iat: now,
    exp,
    jti: newId('cat'),
    cnf: { jwk: kty === 'EC' ? { kty, crv, x, y } : { kty, crv, x } },
    charter: {
      app_id: app.app_id,
      publisher_id: app.publisher_id,
      instance_id: app.instance_id,
      platform: instance.platform,
      attested: instance.attested,
    },
  });
  return { client_attestation, client_id: clientId, expires_in: exp - now };
}
