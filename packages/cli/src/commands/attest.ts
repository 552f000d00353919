/**
 * `charter attest verify` (SPEC §4): verify an Android key attestation chain, an App Attest attestation
 * or an App Attest assertion offline, for operators and tests. A refusal is an answer, not a crash: it
 * exits 1 with `{ verified: false, error: "invalid_attestation", reason }`; bad flags exit 2.
 */
import { readFileSync } from 'node:fs';
import {
  androidAttestationJson,
  appleAttestationJson,
  certificatesFromPem,
  loadTrustAnchors,
  type TrustAnchor,
  verifyAndroidKeyAttestation,
  verifyAppleAppAttestation,
  verifyAppleAssertion,
} from '@charter/attest';
import { isCharterError } from '@charter/core';
import {
  type CommandSpec,
  type Flags,
  type Output,
  optionalFlag,
  requireFlag,
  UsageError,
} from '../command.ts';

const FORMATS = ['android-key', 'apple-appattest', 'apple-assertion'] as const;
type Format = (typeof FORMATS)[number];

/** `charter attest verify`. */
export const attestVerify: CommandSpec = {
  path: ['attest', 'verify'],
  summary: 'verify an Android key attestation or an Apple App Attest attestation or assertion, offline',
  flags: {
    format: {
      type: 'string',
      value: 'FORMAT',
      description: 'android-key | apple-appattest | apple-assertion',
    },
    chain: {
      type: 'string',
      value: 'CHAIN.pem',
      description: 'android-key: the certificate chain, leaf first',
    },
    challenge: {
      type: 'string',
      value: 'HEX',
      description: 'android-key: the expected attestation challenge',
    },
    attestation: {
      type: 'string',
      value: 'FILE',
      description: 'apple-appattest: attestation object (base64 or CBOR)',
    },
    'key-id': { type: 'string', value: 'B64', description: 'apple-appattest: the key id the app reported' },
    'client-data-hash': { type: 'string', value: 'B64', description: 'apple-*: SHA-256 of the client data' },
    'app-id': { type: 'string', value: 'TEAMID.BUNDLEID', description: 'apple-*: the app identifier' },
    'allow-development': {
      type: 'boolean',
      description: 'apple-appattest: accept development-environment keys',
    },
    assertion: {
      type: 'string',
      value: 'FILE',
      description: 'apple-assertion: the assertion (base64 or CBOR)',
    },
    'public-key': {
      type: 'string',
      value: 'KEY.pem',
      description: 'apple-assertion: the key stored at attestation',
    },
    'previous-counter': {
      type: 'string',
      value: 'N',
      description: 'apple-assertion: the counter stored last time',
    },
    at: { type: 'string', value: 'ISO', description: 'verify as of this instant (default: now)' },
    roots: {
      type: 'string',
      value: 'ROOTS.pem',
      description: 'replace the bundled trust anchors (tests and development only)',
    },
  },
  help:
    'Android chains must end at a Google hardware attestation root (matched by public key) and be\n' +
    'hardware-backed. A refusal exits 1 with { verified: false, error: "invalid_attestation", reason }.',
  async run({ flags }) {
    const format = requireFlag(flags, 'format');
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
    }
    try {
      return verify(format as Format, flags);
    } catch (e) {
      if (isCharterError(e) && e.code === 'invalid_attestation') {
        return {
          exitCode: 1,
          json: { verified: false, error: 'invalid_attestation', reason: e.message },
          text: `refused: invalid_attestation: ${e.message}`,
        };
      }
      throw e;
    }
  },
};

function verify(format: Format, flags: Flags): Output {
  const at = instantFlag(flags);
  const trustedRoots = rootsFlag(flags);
  if (format === 'android-key') {
    const chainText = readText(requireFlag(flags, 'chain'), 'chain');
    const challenge = optionalFlag(flags, 'challenge');
    if (challenge !== undefined && !/^(?:[0-9a-fA-F]{2})*$/.test(challenge)) {
      throw new UsageError('--challenge must be hex');
    }
    const result = verifyAndroidKeyAttestation(certificatesFromPem(chainText), {
      expectedChallenge: challenge === undefined ? null : new Uint8Array(Buffer.from(challenge, 'hex')),
      at,
      ...(trustedRoots ? { trustedRoots } : {}),
    });
    const packages = result.packages.map((p) => p.name).join(', ') || 'none';
    return {
      json: androidAttestationJson(result),
      text: [
        `verified: Android key attestation (${result.securityLevel}), root ${result.root}, ` +
          `attestation version ${result.attestationVersion}`,
        `app: ${packages}; ${result.signatureDigests.length} signing certificate(s)`,
        `device: boot ${result.verifiedBootState ?? 'unknown'}, ${result.deviceLocked ? 'locked' : 'unlocked'}, ` +
          `OS ${result.osVersion ?? '?'} patch ${result.osPatchLevel ?? '?'}`,
        result.leafPublicKey
          ? `key: ${result.leafKeyAlgorithm}`
          : `key: ${result.leafKeyAlgorithm} (genuine, but it cannot be a Charter instance key: a gateway refuses to register it)`,
        challenge === undefined ? 'challenge: not checked (no --challenge)' : 'challenge: matches',
      ].join('\n'),
    };
  }
  const clientDataHash = base64Flag(flags, 'client-data-hash');
  const appId = appIdFlag(flags);
  if (format === 'apple-appattest') {
    const keyId = base64Flag(flags, 'key-id');
    const result = verifyAppleAppAttestation(readBytes(requireFlag(flags, 'attestation'), 'attestation'), {
      expectedKeyId: keyId,
      expectedClientDataHash: clientDataHash,
      expectedAppId: appId,
      allowDevelopment: flags['allow-development'] === true,
      at,
      ...(trustedRoots ? { trustedRoots } : {}),
    });
    return {
      json: appleAttestationJson(result),
      text: [
        `verified: App Attest attestation for ${appId} (${result.environment}), counter ${result.counter}`,
        `key id: ${Buffer.from(result.keyId).toString('base64')}`,
        // Apple's receipt is kept for the vendor's records (and Apple's fraud-metric service, which is
        // online): it is reported as received, not validated here.
        `receipt (${result.receipt.byteLength} bytes, not validated offline): ${Buffer.from(result.receipt).toString('base64')}`,
      ].join('\n'),
    };
  }
  const previous = requireFlag(flags, 'previous-counter');
  if (!/^\d{1,10}$/.test(previous) || Number(previous) > 0xffffffff) {
    throw new UsageError('--previous-counter must be an integer between 0 and 4294967295');
  }
  const result = verifyAppleAssertion(readBytes(requireFlag(flags, 'assertion'), 'assertion'), {
    publicKey: readText(requireFlag(flags, 'public-key'), 'public-key'),
    expectedClientDataHash: clientDataHash,
    expectedAppId: appId,
    previousCounter: Number(previous),
  });
  return {
    json: { verified: true, counter: result.counter },
    text: `verified: App Attest assertion for ${appId}, counter ${result.counter}`,
  };
}

function instantFlag(flags: Flags): Date | undefined {
  const at = optionalFlag(flags, 'at');
  if (at === undefined) return undefined;
  const ms = Date.parse(at);
  if (!/^\d{4}-\d{2}-\d{2}/.test(at) || Number.isNaN(ms))
    throw new UsageError('--at must be an ISO 8601 date');
  return new Date(ms);
}

function rootsFlag(flags: Flags): TrustAnchor[] | undefined {
  const path = optionalFlag(flags, 'roots');
  if (path === undefined) return undefined;
  try {
    return loadTrustAnchors(readText(path, 'roots'));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError('--roots must be a PEM file of certificates');
  }
}

function base64Flag(flags: Flags, name: string): Uint8Array {
  const value = requireFlag(flags, name).trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value) || value.length % 4 === 1) {
    throw new UsageError(`--${name} must be base64`);
  }
  return new Uint8Array(Buffer.from(value, /[-_]/.test(value) ? 'base64url' : 'base64'));
}

/**
 * TEAMID.BUNDLEID. The bundle id takes every form the charter format accepts (core BUNDLE_ID: letters,
 * digits, `-` and `_`, as in Apple's own `com.apple.example_app_attest`), and a single segment too;
 * the team id is kept as loose as before (the rpIdHash check decides, not this pattern).
 */
const APP_ID = /^[A-Za-z0-9]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

function appIdFlag(flags: Flags): string {
  const appId = requireFlag(flags, 'app-id');
  if (!APP_ID.test(appId)) {
    throw new UsageError('--app-id must be TEAMID.BUNDLEID');
  }
  return appId;
}

function readText(path: string, flag: string): string {
  return readBytes(path, flag).toString();
}

function readBytes(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new UsageError(`--${flag}: cannot read ${path}`);
  }
}
