/**
 * CBOR decoding for App Attest objects with cbor-x, configured for hostile input: maps decode to Map
 * (never plain objects, so a "__proto__" key is just a key), records are off, trailing bytes are refused,
 * and any decoder exception (including stack exhaustion on deep nesting) becomes ERR_ATTEST_MALFORMED.
 */
import { Decoder } from 'cbor-x';
import { asBytes, decodeBase64 } from './bytes.ts';
import { guarded, malformed } from './errors.ts';

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

/** Decode exactly one CBOR item filling `bytes`. */
export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  return guarded(`The ${what} is not valid CBOR.`, () =>
    decoder.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
  );
}

/**
 * Bytes of an App Attest object given as raw CBOR or base64 text (SPEC §4: "FILE is base64 or raw CBOR").
 * A CBOR attestation or assertion always starts with a map header (0xa0-0xbf), which is never a base64
 * character, so the first byte decides.
 */
export function objectBytes(input: string | Uint8Array, what: string, maxBytes: number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    if (input.length > maxBytes * 2) malformed(`The ${what} is too large.`);
    bytes = decodeBase64(input, what);
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes * 2) malformed(`The ${what} is too large.`);
    const first = input[0];
    bytes =
      first !== undefined && first >= 0xa0 && first <= 0xbf
        ? input
        : decodeBase64(
            Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1'),
            what,
          );
  } else {
    return malformed(`The ${what} is neither bytes nor base64 text.`);
  }
  if (bytes.byteLength === 0 || bytes.byteLength > maxBytes) malformed(`The ${what} is empty or too large.`);
  return bytes;
}

/** The value of `key` in a decoded CBOR map, as bytes; refuses anything else. */
export function bytesField(map: unknown, key: string, what: string): Uint8Array {
  const v = map instanceof Map ? map.get(key) : undefined;
  if (!(v instanceof Uint8Array)) malformed(`The ${what} has no byte string "${key}".`);
  return asBytes(v);
}
