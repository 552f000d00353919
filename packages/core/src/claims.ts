/**
 * Small, strict readers for claim sets. Each returns the typed value or throws the artifact's code
 * with detail `ERR_CLAIMS` and a reason that names the claim (never its value).
 */
import { CharterError, type ErrorCode } from './errors.ts';

/** A JSON object read from a verified payload. */
export type JsonObject = Record<string, unknown>;

/** Reads claims of one artifact, refusing with that artifact's code. */
export class ClaimReader {
  constructor(readonly code: ErrorCode) {}

  fail(path: string, what: string): never {
    throw new CharterError(this.code, 'ERR_CLAIMS', `claim ${path} ${what}`);
  }

  object(value: unknown, path: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(path, 'must be an object');
    return value as JsonObject;
  }

  optionalObject(value: unknown, path: string): JsonObject | undefined {
    return value === undefined ? undefined : this.object(value, path);
  }

  string(value: unknown, path: string, pattern?: RegExp, max = 512): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > max) {
      this.fail(path, `must be a non-empty string of at most ${max} characters`);
    }
    if (pattern && !pattern.test(value)) this.fail(path, 'is not in the expected format');
    return value;
  }

  optionalString(value: unknown, path: string, pattern?: RegExp, max = 512): string | undefined {
    return value === undefined ? undefined : this.string(value, path, pattern, max);
  }

  /** An integer in [min, max]; NumericDate claims use this with min 0. */
  integer(value: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      this.fail(path, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  optionalInteger(value: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    return value === undefined ? undefined : this.integer(value, path, min, max);
  }

  boolean(value: unknown, path: string): boolean {
    if (typeof value !== 'boolean') this.fail(path, 'must be true or false');
    return value;
  }

  optionalBoolean(value: unknown, path: string): boolean | undefined {
    return value === undefined ? undefined : this.boolean(value, path);
  }

  strings(
    value: unknown,
    path: string,
    pattern?: RegExp,
    opts: { min?: number; max?: number } = {},
  ): string[] {
    const { min = 0, max = 1000 } = opts;
    if (!Array.isArray(value) || value.length < min || value.length > max) {
      this.fail(path, `must be an array of ${min} to ${max} strings`);
    }
    return value.map((v, i) => this.string(v, `${path}[${i}]`, pattern, 16384));
  }

  optionalStrings(value: unknown, path: string, pattern?: RegExp): string[] | undefined {
    return value === undefined ? undefined : this.strings(value, path, pattern);
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(path, `must be one of ${allowed.join(', ')}`);
    }
    return value as T;
  }

  optionalOneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T | undefined {
    return value === undefined ? undefined : this.oneOf(value, path, allowed);
  }
}

/** Identifiers (vendor, app, site, charter, instance ids): printable, no spaces, at most 128. */
export const ID = /^[A-Za-z0-9._:~-]{1,128}$/;
/** An RFC 6749 scope-token. */
export const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
/** A SHA-256 digest as 64 lowercase hex characters. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
/** An RFC 7638 SHA-256 thumbprint (base64url, 43 characters). */
export const JKT = /^[A-Za-z0-9_-]{43}$/;
/** An Apple team id: ten upper-case letters or digits. */
export const TEAM_ID = /^[A-Z0-9]{10}$/;
/** A reverse-DNS bundle id or Android package name. */
export const BUNDLE_ID = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;
/** A web origin: scheme, host and optional port; no path, query or fragment. */
export const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:[0-9]{1,5})?$|^https?:\/\/\[[0-9a-f:.]+\](:[0-9]{1,5})?$/;

/** True when `value` is an origin in the canonical form browsers send in `Origin`. */
export function isCanonicalOrigin(value: string): boolean {
  if (!ORIGIN.test(value)) return false;
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}
