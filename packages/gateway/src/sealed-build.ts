/**
 * The trust document sealed into a gateway build. In the sources it is absent; `vendor seal-gateway`
 * replaces this one module with the vendor's root public keys when it bundles, so the trust anchor
 * is part of the bundled code (and of the manifest's hashes), not a file beside it.
 */
import type { TrustDocument } from '@charter/core';

/** The sealed trust document, or undefined in an unsealed (source) build. */
export const SEALED_TRUST_DOCUMENT: TrustDocument | undefined = undefined;
