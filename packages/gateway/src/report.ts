/**
 * Usage reports (`gateway report export`, SPEC.md §2.3): the counters since the last report, signed
 * by the installation key and hash-chained to the previous report. The head of the chain lives in the
 * store and moves by compare-and-set, so two exports (or two replicas) can never both write the same
 * `seq`: the loser gives its counters back and is refused. A store restored from a copy restarts the
 * chain from an old head, which the vendor sees as a fork (two reports with one `seq`).
 */
import {
  artifactHash,
  CharterError,
  type Integrity,
  installationJkt,
  newId,
  type ReportClaims,
  type ReportInstance,
  signInstallationArtifact,
} from '@charter/core';
import { installationKey } from './activation.ts';
import { TimeGuard } from './clock.ts';
import { revocationUpdateSerial } from './revocation-update.ts';
import type { GatewayStore } from './store.ts';
import { COUNTER, usageOf } from './usage.ts';

/** The store state holding the head of the report chain. */
export const REPORT_CHAIN_STATE = 'report-chain';

/** The head of the chain: the last report's seq, hash, end of period, and the report itself. */
interface ChainHead {
  seq: number;
  hash: string;
  to: number;
  token: string;
}

/** A report made by {@link exportReport}. */
export interface ExportedReport {
  token: string;
  seq: number;
  claims: ReportClaims;
}

/**
 * Verdict fields copied from an instance's attestation state into the report (short, no keys): the
 * verifier's findings, and for a registration with a vendor attester token that token's `jti` and
 * signing key id, which the vendor's report check requires of such an instance.
 */
const VERDICT_FIELDS = [
  'fmt',
  'jti',
  'kid',
  'security_level',
  'verified_boot_state',
  'device_locked',
  'os_patch_level',
  'root',
  'environment',
  'app_id',
] as const;

/**
 * Each reported instance with what it registered with, read from its row: platform, key, whether it
 * attested, the digest of its attestation and the verifier's verdict, and the checks monitor mode
 * waived. A row written by hand shows here as it is (say, attested with no evidence) for the vendor
 * to flag at renewal.
 */
async function addEvidence(store: GatewayStore, instances: Record<string, ReportInstance>): Promise<void> {
  for (const [id, entry] of Object.entries(instances)) {
    const row = await store.getInstance(id);
    if (!row) continue;
    entry.platform = row.platform;
    entry.jkt = row.jkt;
    entry.attested = row.attested;
    if (row.evidence) entry.evidence = row.evidence;
    const verdict: Record<string, string | boolean | number> = {};
    for (const k of VERDICT_FIELDS) {
      const v = row.attestation_state?.[k];
      if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number')
        verdict[k] = typeof v === 'string' ? v.slice(0, 512) : v;
    }
    if (Object.keys(verdict).length > 0) entry.verdict = verdict;
    if (row.waived && row.waived.length > 0)
      entry.waived = row.waived.slice(0, 32).map((w) => w.slice(0, 128));
    if (!row.charter) entry.unverifiable = true;
  }
}

/**
 * Make the next report. `write` receives it before the chain head moves (so a report is never
 * committed without having been written out); if the head moved meanwhile, the counters are given
 * back and the export is refused with `conflict`, and the caller should discard what it wrote.
 */
export async function exportReport(
  store: GatewayStore,
  input: { integrity: Integrity; now: number },
  write: (report: ExportedReport) => Promise<void>,
): Promise<ExportedReport> {
  const license = await store.currentLicense();
  if (!license)
    throw new CharterError(
      'license_invalid',
      'ERR_LICENSE_NONE',
      'no license is installed here, so there is nothing to report for',
    );
  const key = await installationKey(store);
  const jkt = await installationJkt(key);
  const headText = await store.getState(REPORT_CHAIN_STATE);
  const head = headText === undefined ? undefined : (JSON.parse(headText) as ChainHead);
  // A clock set back must not make a period end before the time the gateway has already seen.
  const now = Math.max(input.now, (await TimeGuard.load(store, input.now)).highWater());
  const revocationsSerial = await revocationUpdateSerial(store);
  const counters = await store.takeCounters();
  try {
    const usage = usageOf(counters);
    await addEvidence(store, usage.instances ?? {});
    const from = head?.to ?? Math.min(license.installed_at, now);
    const seq = (head?.seq ?? 0) + 1;
    const claims: ReportClaims = {
      iss: jkt,
      jti: newId('rep'),
      iat: now,
      site: license.site_id,
      seq,
      ...(head ? { prev: head.hash } : {}),
      period: { from, to: Math.max(now, from) },
      license_serial: license.serial,
      // Additive: lets the vendor see which sites have installed its latest revocation update.
      ...(revocationsSerial !== undefined ? { revocations_serial: revocationsSerial } : {}),
      integrity: input.integrity === 'sealed' && !counters[COUNTER.unsealedStart] ? 'sealed' : 'unsealed',
      ...usage,
    };
    const token = await signInstallationArtifact('report', claims, key);
    const report = { token, seq, claims };
    await write(report);
    const next: ChainHead = { seq, hash: artifactHash(token), to: claims.period.to, token };
    if (!(await store.compareAndSetState(REPORT_CHAIN_STATE, headText, JSON.stringify(next)))) {
      throw new CharterError(
        'conflict',
        'ERR_REPORT_RACE',
        'another report export ran at the same time; run this one again',
      );
    }
    return report;
  } catch (e) {
    await store.addCounters(counters);
    throw e;
  }
}
