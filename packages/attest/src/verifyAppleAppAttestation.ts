/**
 * Offline verification of an Apple App Attest attestation object (SPEC §3 "apple-appattest"), following
 * every step of Apple's "Validating apps that connect to your server":
 *  1. the x5c chain (credCert, intermediate) ends at the Apple App Attestation Root CA;
 *  2-4. nonce = SHA-256(authData ‖ clientDataHash) equals the credCert extension 1.2.840.113635.100.8.2;
 *  5. key id = SHA-256 of the credCert public key (uncompressed EC point) equals the expected key id;
 *  6. rpIdHash = SHA-256(teamId "." bundleId);
 *  7. counter is 0;
 *  8. aaguid is "appattest" + 7 zero bytes (production) or "appattestdevelop" (development);
 *  9. credential id equals the key id.
 * The receipt is returned untouched: validating it needs Apple's online service.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { parseAttestedAuthenticatorData } from './authenticatorData.ts';
import { asBytes, base64, bytesEqual, decodeBase64, instantOf, sha256 } from './bytes.ts';
import { bytesField, decodeCbor, objectBytes } from './cbor.ts';
import { parseCertificate } from './certificate.ts';
import { validateChain } from './chain.ts';
import { children, readSingle } from './der.ts';
import { guarded, malformed, refuse } from './errors.ts';
import { appleAppAttestationRoots, resolveAnchors, type TrustAnchor } from './roots.ts';

/** OID of the App Attest nonce extension in the credential certificate. */
export const APPLE_NONCE_OID = '1.2.840.113635.100.8.2';

/** Largest attestation object accepted (real ones are about 5.5 KiB, most of it the receipt). */
export const MAX_ATTESTATION_BYTES = 64 * 1024;

const AAGUID_PRODUCTION = new Uint8Array([...Buffer.from('appattest'), 0, 0, 0, 0, 0, 0, 0]);
const AAGUID_DEVELOPMENT = new Uint8Array(Buffer.from('appattestdevelop'));

/** What the server expects. */
export interface AppleAppAttestationOptions {
  /** The key id the app sent (base64 text or its 32 bytes). */
  expectedKeyId: string | Uint8Array;
  /** SHA-256 of the client data: for Charter, the binding of SPEC §3. */
  expectedClientDataHash: Uint8Array;
  /** "TEAMID.BUNDLEID". */
  expectedAppId: string;
  /** Accept the development environment (aaguid "appattestdevelop"). Default false. */
  allowDevelopment?: boolean;
  /** Verification instant (default: now). */
  at?: Date | number;
  /** Anchors replacing the bundled Apple App Attestation Root CA. */
  trustedRoots?: readonly (TrustAnchor | string)[];
}

/** A verified App Attest attestation: store publicKey and counter for later assertions. */
export interface AppleAppAttestation {
  environment: 'production' | 'development';
  keyId: Uint8Array;
  publicKey: KeyObject;
  /** SPKI PEM of the attested key. */
  publicKeyPem: string;
  /** Always 0 for a fresh attestation. */
  counter: number;
  /** Apple's receipt (for the online fraud-metric service; not validated here). */
  receipt: Uint8Array;
  /** Name of the anchor the chain ends at. */
  root: string;
}

/**
 * Verify an App Attest attestation object (raw CBOR or base64). Throws CharterError
 * `invalid_attestation` on any refusal; never any other error for bad input.
 */
export function verifyAppleAppAttestation(
  attestation: string | Uint8Array,
  options: AppleAppAttestationOptions,
): AppleAppAttestation {
  const at = instantOf(options.at);
  const expectedClientDataHash = asBytes(options.expectedClientDataHash);
  return guarded('The attestation object cannot be decoded.', () => {
    const expectedKeyId =
      typeof options.expectedKeyId === 'string'
        ? decodeBase64(options.expectedKeyId, 'key id')
        : asBytes(options.expectedKeyId);
    const obj = decodeCbor(
      objectBytes(attestation, 'attestation object', MAX_ATTESTATION_BYTES),
      'attestation object',
    );
    if (!(obj instanceof Map)) malformed('The attestation object is not a CBOR map.');
    if (obj.get('fmt') !== 'apple-appattest')
      refuse('ERR_ATTEST_FORMAT', 'The attestation is not an App Attest attestation.');
    const stmt = obj.get('attStmt');
    const authData = bytesField(obj, 'authData', 'attestation object');
    const receipt = bytesField(stmt, 'receipt', 'attestation statement');
    const x5c = stmt instanceof Map ? stmt.get('x5c') : undefined;
    if (!Array.isArray(x5c) || x5c.length < 2 || !x5c.every((c) => c instanceof Uint8Array)) {
      malformed('The attestation statement has no certificate chain.');
    }
    const certs = (x5c as Uint8Array[]).map((c) => parseCertificate(asBytes(c)));

    // Step 1.
    const { anchor } = validateChain(certs, {
      anchors: resolveAnchors(options.trustedRoots, appleAppAttestationRoots),
      at,
      processedExtensions: [APPLE_NONCE_OID],
    });
    const credCert = certs[0]!;

    // Steps 2-4.
    const ext = credCert.extensions.get(APPLE_NONCE_OID);
    if (!ext) refuse('ERR_ATTEST_EXTENSION', 'The credential certificate has no App Attest nonce.');
    const nonce = sha256(authData, expectedClientDataHash);
    if (!bytesEqual(nonceFromExtension(ext.value), nonce)) {
      refuse('ERR_ATTEST_NONCE', 'The attestation nonce does not match the client data hash.');
    }

    // Step 5: the key is a P-256 key; its id is the hash of the uncompressed point.
    const publicKey = createPublicKey({ key: Buffer.from(credCert.spki), format: 'der', type: 'spki' });
    const point = uncompressedP256Point(publicKey);
    const keyId = sha256(point);
    if (!bytesEqual(keyId, expectedKeyId))
      refuse('ERR_ATTEST_KEY_ID', 'The key id does not match the attested key.');

    const ad = parseAttestedAuthenticatorData(authData);
    // Step 6.
    if (!bytesEqual(ad.rpIdHash, sha256(Buffer.from(options.expectedAppId, 'utf8')))) {
      refuse('ERR_ATTEST_APP_ID', 'The attestation is for a different app.');
    }
    // Step 7.
    if (ad.signCount !== 0) refuse('ERR_ATTEST_COUNTER', 'The attestation counter is not zero.');
    // Step 8.
    let environment: 'production' | 'development';
    if (bytesEqual(ad.aaguid, AAGUID_PRODUCTION)) environment = 'production';
    else if (bytesEqual(ad.aaguid, AAGUID_DEVELOPMENT)) environment = 'development';
    else refuse('ERR_ATTEST_ENVIRONMENT', 'The attestation names an unknown App Attest environment.');
    if (environment === 'development' && !options.allowDevelopment) {
      refuse('ERR_ATTEST_DEVELOPMENT', 'Development App Attest keys are not accepted.');
    }
    // Step 9.
    if (!bytesEqual(ad.credentialId, keyId))
      refuse('ERR_ATTEST_KEY_ID', 'The credential id is not the key id.');

    return {
      environment,
      keyId,
      publicKey,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      counter: ad.signCount,
      receipt: new Uint8Array(receipt),
      root: anchor.name,
    };
  });
}

/** The SPEC §4 JSON view of a verified App Attest attestation. */
export function appleAttestationJson(result: AppleAppAttestation): Record<string, unknown> {
  return {
    verified: true,
    environment: result.environment,
    key_id_b64: base64(result.keyId),
    public_key_pem: result.publicKeyPem,
    counter: result.counter,
    receipt_b64: base64(result.receipt),
  };
}

/** The 65-byte uncompressed point (04 ‖ X ‖ Y) of a P-256 public key; any other key is refused. */
export function uncompressedP256Point(key: KeyObject): Uint8Array {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    refuse('ERR_ATTEST_UNSUPPORTED', 'The App Attest key is not a P-256 key.');
  }
  const jwk = key.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  const y = Buffer.from(jwk.y ?? '', 'base64url');
  if (x.length !== 32 || y.length !== 32) malformed('The App Attest key is not a valid P-256 point.');
  return new Uint8Array(Buffer.concat([Buffer.of(4), x, y]));
}

/** The nonce from the extension value: SEQUENCE { [1] EXPLICIT OCTET STRING (32 bytes) }. */
function nonceFromExtension(value: Uint8Array): Uint8Array {
  const seq = readSingle(value);
  if (seq.tagClass !== 0 || !seq.constructed || seq.tagNumber !== 16)
    malformed('The App Attest nonce is malformed.');
  const [tagged, ...rest] = children(value, seq);
  if (!tagged || rest.length > 0 || tagged.tagClass !== 2 || !tagged.constructed || tagged.tagNumber !== 1) {
    malformed('The App Attest nonce is malformed.');
  }
  const [octets, ...more] = children(value, tagged);
  if (!octets || more.length > 0 || octets.tagClass !== 0 || octets.constructed || octets.tagNumber !== 4) {
    malformed('The App Attest nonce is malformed.');
  }
  return value.subarray(octets.contentStart, octets.end);
}
