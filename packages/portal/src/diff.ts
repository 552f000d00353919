/** What changed between an app's previously approved submission and the one under review. */
import type { SubmissionRecord } from '@charter/issuer';

/** One change a reviewer should look at. */
export interface Change {
  field: string;
  change: 'added' | 'removed' | 'changed';
  before: string | null;
  after: string | null;
}

const list = (before: string[], after: string[], field: string): Change[] => [
  ...after
    .filter((x) => !before.includes(x))
    .map((x) => ({ field, change: 'added' as const, before: null, after: x })),
  ...before
    .filter((x) => !after.includes(x))
    .map((x) => ({ field, change: 'removed' as const, before: x, after: null })),
];

const value = (
  field: string,
  before: string | null | undefined,
  after: string | null | undefined,
): Change[] => {
  const b = before ?? null;
  const a = after ?? null;
  if (b === a) return [];
  return [{ field, change: b === null ? 'added' : a === null ? 'removed' : 'changed', before: b, after: a }];
};

/** Field-by-field changes from `before` (null: a first submission, everything is added) to `after`. */
export function diffSubmissions(before: SubmissionRecord | null, after: SubmissionRecord): Change[] {
  const b = before?.platforms ?? {};
  const a = after.platforms;
  return [
    ...value('name', before?.name, after.name),
    ...value('version', before?.version, after.version),
    ...list(before?.scopes ?? [], after.scopes, 'scope'),
    ...list(b.web?.origins ?? [], a.web?.origins ?? [], 'web origin'),
    ...value('android package', b.android?.package_name, a.android?.package_name),
    ...list(
      b.android?.signing_cert_sha256 ?? [],
      a.android?.signing_cert_sha256 ?? [],
      'android signing certificate',
    ),
    ...value('ios team id', b.ios?.team_id, a.ios?.team_id),
    ...value('ios bundle id', b.ios?.bundle_id, a.ios?.bundle_id),
    ...value('server', b.server ? 'yes' : null, a.server ? 'yes' : null),
    ...value('android attestation', before?.attestation?.android, after.attestation?.android),
    ...value('ios attestation', before?.attestation?.ios, after.attestation?.ios),
  ];
}
