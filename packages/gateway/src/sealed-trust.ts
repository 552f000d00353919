/**
 * The trust anchor sealed into a gateway build by `vendor seal-gateway` (a later issue). An unsealed
 * build has none, and must be given a development trust file, which it then reports as `unsealed`.
 */
import type { VendorTrust } from '@charter/core';

/** The sealed trust of this build, or undefined in an unsealed build. */
export async function sealedTrust(): Promise<VendorTrust | undefined> {
  return undefined;
}
