/** Signing `charter-key+jwt` delegations: the root key vouches for a signing key, for some uses. */
import { ARTIFACT_TYP, type KeyUse, type SigningKey, signArtifact } from './artifact.ts';
import type { PublicJwk } from './jwk.ts';

/** What a delegation says: which key, for which uses, for how long. */
export interface DelegationInput {
  vendorId: string;
  jwk: PublicJwk;
  use: KeyUse[];
  nbf: number;
  exp: number;
}

/** Sign a delegation of `jwk` with the vendor root key. */
export async function signKeyDelegation(input: DelegationInput, root: SigningKey): Promise<string> {
  const { kid, ...jwk } = input.jwk;
  return signArtifact(
    ARTIFACT_TYP.key,
    {
      iss: input.vendorId,
      sub: kid,
      jwk,
      use: input.use,
      iat: Math.floor(Date.now() / 1000),
      nbf: input.nbf,
      exp: input.exp,
    },
    root,
  );
}
