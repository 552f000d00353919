/**
 * The evidence the vendor reads back from sites: activation requests, hash-chained usage reports, and
 * the trace from any id (charter, app, instance) to who published, approved and admitted it.
 */
import {
  artifactHash,
  attestationPolicyOf,
  type CharterClaims,
  CharterError,
  decodeJsonSegment,
  type Platform,
  type ReportClaims,
  verifyActivation,
  verifyReport,
} from '@charter/core';
import type { VendorDb } from './db.ts';

/** One report as `vendor report verify` judged it. */
export interface ReportFinding {
  file: number;
  hash?: string;
  site?: string;
  jkt?: string;
  seq?: number;
  status: 'ok' | 'edited' | 'foreign' | 'broken_link' | 'duplicate';
  reason?: string;
}

/** The verdict on a set of reports. */
export interface ReportVerdict {
  ok: boolean;
  reports: ReportFinding[];
  gaps: { site: string; jkt: string; missing: number[] }[];
  forks: { site: string; jkt: string; seq?: number; prev?: string; hashes: string[] }[];
  backwards: { site: string; jkt: string; seq: number; what: string }[];
  reactivations: { site: string; installations: string[] }[];
  apps: Record<
    string,
    { admitted: number; denied: Record<string, number>; instances: number; unattested_instances: number }
  >;
  unknown: Record<string, number>;
  /**
   * Instances whose reported evidence does not hold up: a charter the vendor never issued for that
   * app, attested with no attestation on record, unattested where the charter requires it with no
   * waiver, one attestation or one key behind two instances, no charter on record. Such a row was
   * most likely written into the gateway's store by hand.
   */
  suspect_instances: { site: string; instance_id: string; app_id: string; problem: string }[];
  /**
   * With the attester's records: instances the site's gateway admitted (by key thumbprint) that the
   * vendor attester never vouched for at that site, at sites whose license names the attester. At a
   * site where it is required (`attestation.source: attester`) any such instance makes `ok` false.
   */
  unvouched?: {
    site: string;
    source: 'attester' | 'either';
    instance_id: string;
    app_id: string;
    jkt?: string;
    reason: string;
  }[];
}

/** Check the instances of verified reports against the vendor's own charters. */
function checkInstances(db: VendorDb, reports: Parsed[], verdict: ReportVerdict): void {
  const charters = new Map<string, { app_id: string; claims: CharterClaims | undefined } | null>();
  const charterOf = (id: string) => {
    if (!charters.has(id)) {
      const row = db.prepare('SELECT app_id, token FROM charters WHERE id = ?').get(id) as
        | { app_id: string; token: string }
        | undefined;
      charters.set(
        id,
        row
          ? {
              app_id: row.app_id,
              claims: decodeJsonSegment(row.token.split('.')[1] ?? '') as unknown as
                | CharterClaims
                | undefined,
            }
          : null,
      );
    }
    return charters.get(id) ?? null;
  };
  const seen = new Map<string, { site: string; entry: NonNullable<ReportClaims['instances']>[string] }>();
  const byEvidence = new Map<string, string>();
  const byKey = new Map<string, string>();
  const flagged = new Set<string>();
  const flag = (site: string, instance_id: string, app_id: string, problem: string) => {
    const k = `${site} ${instance_id} ${problem}`;
    if (flagged.has(k)) return;
    flagged.add(k);
    verdict.suspect_instances.push({ site, instance_id, app_id, problem });
  };
  for (const p of reports) {
    for (const [id, entry] of Object.entries(p.claims.instances ?? {}))
      seen.set(`${p.claims.site} ${id}`, { site: p.claims.site, entry });
  }
  for (const [key, { site, entry }] of seen) {
    const id = key.slice(site.length + 1);
    const charter = charterOf(entry.charter_id);
    if (!charter) {
      flag(site, id, entry.app_id, 'its charter was never issued by this vendor');
      continue;
    }
    if (charter.app_id !== entry.app_id) flag(site, id, entry.app_id, 'its charter belongs to another app');
    // Reports of older gateways carry no evidence; only what is there is checked.
    if (entry.platform === undefined) continue;
    if (entry.unverifiable) flag(site, id, entry.app_id, 'the gateway has no charter on record for it');
    const platform = entry.platform as Platform;
    const claims = charter.claims;
    if (claims && !claims.platforms?.[platform])
      flag(site, id, entry.app_id, `its charter does not approve the ${platform} platform`);
    if (platform === 'android' || platform === 'ios') {
      const required = claims ? attestationPolicyOf(claims, platform) === 'required' : true;
      const v = entry.verdict ?? {};
      // Verified on the device's evidence at the gateway, or vouched for by the vendor attester (its
      // token's jti and signing key; `vendor report verify --attester-db` sets those against its records).
      const complete =
        (v.fmt === 'vendor-attester' && typeof v.jti === 'string' && typeof v.kid === 'string') ||
        (platform === 'android'
          ? v.fmt === 'android-key' && typeof v.security_level === 'string' && typeof v.root === 'string'
          : v.fmt === 'apple-appattest' && typeof v.environment === 'string');
      if (entry.attested && !entry.evidence)
        flag(site, id, entry.app_id, 'it claims hardware attestation but carries no attestation evidence');
      else if (entry.attested && !complete)
        flag(
          site,
          id,
          entry.app_id,
          'it claims hardware attestation but its attestation verdict is incomplete',
        );
      if (!entry.attested && required && !(entry.waived ?? []).length)
        flag(
          site,
          id,
          entry.app_id,
          'unattested, the charter requires attestation, and no monitor-mode waiver is recorded',
        );
    }
    if (entry.evidence) {
      const other = byEvidence.get(entry.evidence);
      if (other && other !== key)
        flag(
          site,
          id,
          entry.app_id,
          `its attestation is also the evidence of instance ${other.split(' ')[1]}`,
        );
      else byEvidence.set(entry.evidence, key);
    }
    if (entry.jkt) {
      const k = `${site} ${entry.app_id} ${entry.jkt}`;
      const other = byKey.get(k);
      if (other && other !== key)
        flag(site, id, entry.app_id, `its key is also the key of instance ${other.split(' ')[1]}`);
      else byKey.set(k, key);
    }
  }
}

/** The attester's records as report verification reads them (attester/records.ts). */
export interface VouchedLookup {
  vouched(siteId: string, jkts: readonly string[]): Promise<Set<string>>;
}

/**
 * Set the instances of verified reports against the attester's records: an admitted instance whose
 * key the attester never vouched for at the site is listed. The site's source is read from its
 * latest license (the vendor's own record), never from the report.
 */
export async function checkVouched(
  db: VendorDb,
  verdict: ReportVerdict,
  reports: readonly { site: string; instances: ReportClaims['instances'] }[],
  attester: VouchedLookup,
): Promise<void> {
  const unvouched: NonNullable<ReportVerdict['unvouched']> = [];
  const bySite = new Map<string, Map<string, { app_id: string; jkt?: string }>>();
  for (const r of reports) {
    const m = bySite.get(r.site) ?? new Map();
    bySite.set(r.site, m);
    for (const [id, inst] of Object.entries(r.instances ?? {}))
      m.set(id, { app_id: inst.app_id, ...(inst.jkt ? { jkt: inst.jkt } : {}) });
  }
  for (const [site, instances] of bySite) {
    const row = db
      .prepare('SELECT token FROM licenses WHERE site_id = ? ORDER BY serial DESC LIMIT 1')
      .get(site) as { token: string } | undefined;
    const claims = row
      ? (JSON.parse(Buffer.from(row.token.split('.')[1] as string, 'base64url').toString('utf8')) as {
          attestation?: { source?: string };
        })
      : undefined;
    const source = claims?.attestation?.source;
    if (source !== 'attester' && source !== 'either') continue;
    const jkts = [...instances.values()].flatMap((i) => (i.jkt ? [i.jkt] : []));
    const vouched = await attester.vouched(site, jkts);
    for (const [id, inst] of instances) {
      if (inst.jkt && vouched.has(inst.jkt)) continue;
      unvouched.push({
        site,
        source,
        instance_id: id,
        app_id: inst.app_id,
        ...(inst.jkt ? { jkt: inst.jkt } : {}),
        reason: inst.jkt
          ? 'the attester never issued a token for this instance key at this site'
          : 'the report gives no key thumbprint for this instance, so the attester cannot vouch for it',
      });
      if (source === 'attester') verdict.ok = false;
    }
  }
  verdict.unvouched = unvouched;
}

/** Verify an activation request for `siteId` and record it; says whether it replaces another installation. */
export async function recordActivation(
  db: VendorDb,
  siteId: string,
  token: string,
  now: number,
): Promise<{ jkt: string; reactivation: boolean; previous: string[] }> {
  const { claims, jkt } = await verifyActivation(token);
  if (claims.sub !== siteId) {
    throw new CharterError(
      'invalid_request',
      'ERR_ACTIVATION_SITE',
      `the activation request is for site ${claims.sub}, not ${siteId}`,
    );
  }
  if (claims.exp < now)
    throw new CharterError(
      'invalid_request',
      'ERR_ACTIVATION_EXPIRED',
      'the activation request has expired: make a new one',
    );
  const previous = (
    db.prepare('SELECT DISTINCT jkt FROM activations WHERE site_id = ? AND jkt <> ?').all(siteId, jkt) as {
      jkt: string;
    }[]
  ).map((r) => r.jkt);
  db.prepare(
    `INSERT INTO activations (jti, site_id, jkt, iat, gateway_version, integrity, token, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING`,
  ).run(claims.jti, siteId, jkt, claims.iat, claims.gateway_version, claims.integrity, token, now);
  return { jkt, reactivation: previous.length > 0, previous };
}

interface Parsed {
  file: number;
  hash: string;
  claims: ReportClaims;
  token: string;
}

/**
 * Check reports: signatures (an edited report fails here), installation (a report whose key was never
 * activated for its site is foreign), then per installation chain — together with every report
 * received before — gaps in `seq`, forks (two reports with one `seq` or one `prev`), links whose
 * `prev` is not the hash of the report before, and serials or periods that go backwards.
 */
export async function verifyReports(db: VendorDb, tokens: string[], now: number): Promise<ReportVerdict> {
  const verdict: ReportVerdict = {
    ok: true,
    reports: [],
    gaps: [],
    forks: [],
    backwards: [],
    reactivations: [],
    apps: {},
    unknown: {},
    suspect_instances: [],
  };
  const fresh: Parsed[] = [];
  for (const [file, raw] of tokens.entries()) {
    const token = raw.trim();
    try {
      const { claims, jkt } = await verifyReport(token);
      const bound = db
        .prepare('SELECT 1 FROM activations WHERE site_id = ? AND jkt = ?')
        .get(claims.site, jkt);
      if (!bound) {
        verdict.reports.push({
          file,
          site: claims.site,
          jkt,
          seq: claims.seq,
          status: 'foreign',
          reason: 'no activation of this site has this installation key',
        });
        continue;
      }
      fresh.push({ file, hash: artifactHash(token), claims, token });
    } catch (e) {
      if (!(e instanceof CharterError)) throw e;
      verdict.reports.push({ file, status: 'edited', reason: e.message });
    }
  }
  const chains = new Map<string, Map<string, Parsed>>();
  const chainOf = (site: string, jkt: string) => {
    const key = `${site} ${jkt}`;
    let c = chains.get(key);
    if (!c) {
      c = new Map();
      chains.set(key, c);
      for (const row of db
        .prepare('SELECT hash, token FROM reports WHERE site_id = ? AND jkt = ?')
        .all(site, jkt) as { hash: string; token: string }[]) {
        const claims = JSON.parse(
          Buffer.from(row.token.split('.')[1] as string, 'base64url').toString('utf8'),
        ) as ReportClaims;
        c.set(row.hash, { file: -1, hash: row.hash, claims, token: row.token });
      }
    }
    return c;
  };
  for (const p of fresh) {
    const chain = chainOf(p.claims.site, p.claims.iss);
    const finding: ReportFinding = {
      file: p.file,
      hash: p.hash,
      site: p.claims.site,
      jkt: p.claims.iss,
      seq: p.claims.seq,
      status: 'ok',
    };
    if (chain.has(p.hash) && chain.get(p.hash)?.file !== -1) finding.status = 'duplicate';
    chain.set(p.hash, p);
    verdict.reports.push(finding);
    if (finding.status === 'ok') {
      for (const [app, u] of Object.entries(p.claims.apps)) {
        const t = verdict.apps[app] ?? { admitted: 0, denied: {}, instances: 0, unattested_instances: 0 };
        verdict.apps[app] = t;
        t.admitted += u.admitted;
        t.instances += u.instances;
        t.unattested_instances += u.unattested_instances ?? 0;
        for (const [code, n] of Object.entries(u.denied)) t.denied[code] = (t.denied[code] ?? 0) + n;
      }
      for (const [code, n] of Object.entries(p.claims.unknown))
        verdict.unknown[code] = (verdict.unknown[code] ?? 0) + n;
    }
  }
  for (const [key, chain] of chains) {
    const [site, jkt] = key.split(' ') as [string, string];
    const all = [...chain.values()];
    const bySeq = new Map<number, Parsed[]>();
    const byPrev = new Map<string, Parsed[]>();
    for (const r of all) {
      bySeq.set(r.claims.seq, [...(bySeq.get(r.claims.seq) ?? []), r]);
      if (r.claims.prev) byPrev.set(r.claims.prev, [...(byPrev.get(r.claims.prev) ?? []), r]);
    }
    for (const [seq, rs] of bySeq)
      if (rs.length > 1) verdict.forks.push({ site, jkt, seq, hashes: rs.map((r) => r.hash) });
    for (const [prev, rs] of byPrev) {
      if (rs.length > 1 && new Set(rs.map((r) => r.claims.seq)).size === rs.length)
        verdict.forks.push({ site, jkt, prev, hashes: rs.map((r) => r.hash) });
    }
    const seqs = [...bySeq.keys()].sort((a, b) => a - b);
    const max = seqs[seqs.length - 1] ?? 0;
    const missing: number[] = [];
    for (let s = 1; s <= max; s++) if (!bySeq.has(s)) missing.push(s);
    if (missing.length > 0) verdict.gaps.push({ site, jkt, missing });
    for (const r of all) {
      if (r.claims.seq === 1) continue;
      const before = bySeq.get(r.claims.seq - 1);
      if (!before) continue;
      const link = before.find((b) => b.hash === r.claims.prev);
      if (!link) {
        const f = verdict.reports.find((x) => x.hash === r.hash && x.status === 'ok');
        if (f) {
          f.status = 'broken_link';
          f.reason = `prev is not the hash of report ${r.claims.seq - 1}`;
        }
        continue;
      }
      if (r.claims.license_serial < link.claims.license_serial) {
        verdict.backwards.push({ site, jkt, seq: r.claims.seq, what: 'license serial went down' });
      }
      if (r.claims.period.from < link.claims.period.to)
        verdict.backwards.push({
          site,
          jkt,
          seq: r.claims.seq,
          what: 'period starts before the previous one ended',
        });
    }
  }
  const sites = new Set(fresh.map((p) => p.claims.site));
  for (const site of sites) {
    const installations = (
      db.prepare('SELECT DISTINCT jkt FROM activations WHERE site_id = ?').all(site) as { jkt: string }[]
    ).map((r) => r.jkt);
    if (installations.length > 1) verdict.reactivations.push({ site, installations });
  }
  checkInstances(
    db,
    fresh.filter((p) => verdict.reports.some((r) => r.hash === p.hash && r.status === 'ok')),
    verdict,
  );
  verdict.ok =
    verdict.suspect_instances.length === 0 &&
    verdict.gaps.length === 0 &&
    verdict.forks.length === 0 &&
    verdict.backwards.length === 0 &&
    verdict.reports.every((r) => r.status === 'ok' || r.status === 'duplicate');
  // Keep what verified, so a fork against a report sent at the last renewal is seen at the next.
  const keep = db.prepare(
    `INSERT INTO reports (hash, site_id, jkt, seq, prev, iat, token, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
  );
  db.transaction(() => {
    for (const p of fresh)
      keep.run(
        p.hash,
        p.claims.site,
        p.claims.iss,
        p.claims.seq,
        p.claims.prev ?? null,
        p.claims.iat,
        p.token,
        now,
      );
  })();
  return verdict;
}

/** Where an id comes from and where it is admitted. */
export interface TraceResult {
  kind: 'charter' | 'app' | 'instance';
  id: string;
  publisher_id: string;
  publisher: string;
  app_id: string;
  app: string;
  submission_id: string | null;
  submitted_by: string | null;
  approved_by: string | null;
  charter_ids: string[];
  revoked: { kind: string; target: string; reason: string }[];
  sites: { site_id: string; name: string; serial: number; license_id: string }[];
  seen_at?: { site: string; jkt: string; report_seq: number }[];
}

/** Trace a charter id, app id or instance id (from a report, a log line, a captured charter). */
export function trace(db: VendorDb, id: string): TraceResult {
  let kind: TraceResult['kind'];
  let appId: string;
  let charterIds: string[];
  let seen: TraceResult['seen_at'];
  const charter = db.prepare('SELECT id, app_id FROM charters WHERE id = ?').get(id) as
    | { id: string; app_id: string }
    | undefined;
  if (charter) {
    kind = 'charter';
    appId = charter.app_id;
    charterIds = [charter.id];
  } else if (db.prepare('SELECT 1 FROM apps WHERE id = ?').get(id)) {
    kind = 'app';
    appId = id;
    charterIds = (
      db.prepare('SELECT id FROM charters WHERE app_id = ? ORDER BY iat').all(id) as { id: string }[]
    ).map((r) => r.id);
  } else {
    const hits: { charter_id: string; site: string; jkt: string; seq: number }[] = [];
    for (const row of db.prepare('SELECT site_id, jkt, seq, token FROM reports ORDER BY seq').all() as {
      site_id: string;
      jkt: string;
      seq: number;
      token: string;
    }[]) {
      const claims = JSON.parse(
        Buffer.from(row.token.split('.')[1] as string, 'base64url').toString('utf8'),
      ) as ReportClaims;
      const inst = claims.instances?.[id];
      if (inst) hits.push({ charter_id: inst.charter_id, site: row.site_id, jkt: row.jkt, seq: row.seq });
    }
    const first = hits[0];
    const c = first
      ? (db.prepare('SELECT id, app_id FROM charters WHERE id = ?').get(first.charter_id) as
          | { id: string; app_id: string }
          | undefined)
      : undefined;
    if (!c)
      throw new CharterError(
        'not_found',
        'ERR_TRACE',
        `nothing is known of ${id}: not a charter, an app, or an instance seen in a usage report`,
      );
    kind = 'instance';
    appId = c.app_id;
    charterIds = [...new Set(hits.map((h) => h.charter_id))];
    seen = hits.map((h) => ({ site: h.site, jkt: h.jkt, report_seq: h.seq }));
  }
  const app = db
    .prepare(
      'SELECT a.name, a.publisher_id, p.name AS publisher FROM apps a JOIN publishers p ON p.id = a.publisher_id WHERE a.id = ?',
    )
    .get(appId) as {
    name: string;
    publisher_id: string;
    publisher: string;
  };
  const sub = db
    .prepare(
      kind === 'app'
        ? `SELECT s.id, s.submitted_by, s.decided_by FROM submissions s WHERE s.app_id = ? AND s.status = 'approved' ORDER BY s.decided_at DESC LIMIT 1`
        : `SELECT s.id, s.submitted_by, s.decided_by FROM charters c JOIN submissions s ON s.id = c.submission_id WHERE c.id = ?`,
    )
    .get(kind === 'app' ? appId : charterIds[0]) as
    | { id: string; submitted_by: string; decided_by: string }
    | undefined;
  const sites = (
    db
      .prepare(
        `SELECT l.site_id, s.name, l.serial, l.id AS license_id, l.apps FROM licenses l JOIN sites s ON s.id = l.site_id
         WHERE l.serial = (SELECT MAX(serial) FROM licenses x WHERE x.site_id = l.site_id) ORDER BY s.created_at`,
      )
      .all() as { site_id: string; name: string; serial: number; license_id: string; apps: string }[]
  )
    .filter((l) => (JSON.parse(l.apps) as string[]).includes(appId))
    .map(({ apps: _apps, ...rest }) => rest);
  const revoked = db
    .prepare(
      `SELECT kind, target, reason FROM revocations WHERE (kind = 'app' AND target = ?) OR (kind = 'charter' AND target IN (SELECT value FROM json_each(?))) OR (kind = 'instance' AND target = ?)`,
    )
    .all(appId, JSON.stringify(charterIds), id) as TraceResult['revoked'];
  return {
    kind,
    id,
    publisher_id: app.publisher_id,
    publisher: app.publisher,
    app_id: appId,
    app: app.name,
    submission_id: sub?.id ?? null,
    submitted_by: sub?.submitted_by ?? null,
    approved_by: sub?.decided_by ?? null,
    charter_ids: charterIds,
    revoked,
    sites,
    ...(seen ? { seen_at: seen } : {}),
  };
}
