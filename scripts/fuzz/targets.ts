/** Every fuzz target, in the order a full campaign runs them. */
import type { Target } from './target.ts';
import { ATTESTATION_TARGETS } from './targets/attestation.ts';
import { attester } from './targets/attester.ts';
import { binaries } from './targets/binaries.ts';
import { GATEWAY_TARGETS } from './targets/gateway.ts';
import { operations } from './targets/operations.ts';
import { TOKEN_TARGETS } from './targets/tokens.ts';
import { WEB_TARGETS } from './targets/web.ts';

export const TARGETS: readonly Target[] = [
  ...TOKEN_TARGETS,
  ...ATTESTATION_TARGETS,
  binaries,
  ...GATEWAY_TARGETS,
  operations,
  attester,
  ...WEB_TARGETS,
];
