/**
 * @charter/binaries — what an uploaded APK or IPA says about itself. Everything here reads hostile
 * bytes, so it lives apart from the vendor's records and signing keys: its only dependency is the
 * error catalogue, and every refusal is a `CharterError('invalid_request', 'ERR_BINARY', …)`.
 * The ZIP, AXML, plist and DER readers stay internal; only inspection and comparison are public.
 */
export {
  type ApkFacts,
  type BinaryCheck,
  type BinaryFacts,
  compareBinary,
  type IpaFacts,
  inspectBinary,
} from './inspect.ts';
