/**
 * `charter gateway attester jwks`: the public key of the site's client attester, as a JWK Set, for
 * the customer's OAuth server to trust (draft-ietf-oauth-attestation-based-client-auth). The key is
 * made in the gateway state on first use, the same one a running gateway signs with.
 */
import { writeFile } from 'node:fs/promises';
import { ClientAttester } from '@charter/gateway';
import { type CommandSpec, optionalFlag } from '../command.ts';
import { backendsOf } from './gateway.ts';

/** `charter gateway attester jwks [--out FILE]`. */
export const attesterJwks: CommandSpec = {
  path: ['gateway', 'attester', 'jwks'],
  summary: "print (or write) the client attester's public JWK Set for the customer's OAuth server",
  flags: {
    out: { type: 'string', description: 'Write the JWK Set to FILE instead of printing it', value: 'FILE' },
    db: {
      type: 'string',
      description: 'sqlite:PATH or postgres://… instead of HOME/gateway.db',
      value: 'URL',
    },
  },
  help:
    'Configure the OAuth server to verify OAuth-Client-Attestation JWTs with this key, and to accept\n' +
    'their iss (the gateway public URL). Running gateways also serve it at /charter/v1/attester/jwks.',
  async run({ flags }) {
    const backends = await backendsOf(flags);
    try {
      const attester = await ClientAttester.open(backends.store);
      const jwks = attester.jwks();
      const out = optionalFlag(flags, 'out');
      if (out) await writeFile(out, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o644 });
      return {
        json: { kid: attester.kid, jwks, ...(out ? { file: out } : {}) },
        text: out
          ? `attester JWK Set (kid ${attester.kid}) written to ${out}`
          : JSON.stringify(jwks, null, 2),
      };
    } finally {
      await backends.close();
    }
  },
};
