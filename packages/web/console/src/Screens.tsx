/** The console's screens: overview (license, traffic), refusals, instances, license & reports, audit log. */
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { api, messageOf, when } from '../../portal/src/api.ts';
import { BarChart, Field, Table, useAnnounce } from '../../portal/src/ui.tsx';
import { API } from './App.tsx';
import { TrafficChart, type TrafficWindow } from './TrafficChart.tsx';

interface LocalRevocation {
  instance_id: string;
  at: number;
  by: string;
  reason: string;
}

interface OverviewData {
  now: number;
  site: { id: string; name: string };
  license_id: string;
  serial: number;
  iat: number;
  nbf: number;
  exp: number;
  grace_s: number;
  mode: 'enforce' | 'monitor';
  license_mode: 'enforce' | 'monitor';
  integrity: 'sealed' | 'unsealed';
  bound: boolean;
  public_url: string;
  apps: {
    app_id: string;
    scopes: string[];
    rate: { per_instance_per_min?: number; per_app_per_min?: number } | null;
    web_origins: string[];
  }[];
  cors_origins: string[];
  revoked: { charters: string[]; apps: string[]; instances: string[] };
  local_revocations: LocalRevocation[];
  android_revocation?: {
    snapshot_date: string;
    snapshot_age_days: number;
    snapshot_serials: number;
    license_serials: number;
  };
  admits_none: boolean;
  revocation_update: { serial: number; exp: number; installed_at: number; in_force: boolean } | null;
}

interface RefusalRow {
  seq: number;
  at: number;
  kind: 'refusal' | 'monitor';
  endpoint?: string;
  code: string;
  detail?: string;
  app_id?: string;
  instance_id?: string;
}

/** Load `path` now and every `everyMs` (0: once); errors go to the status line. */
function usePoll<T>(path: string, everyMs = 0): [T | undefined, () => void] {
  const [data, setData] = useState<T>();
  const announce = useAnnounce();
  const load = useCallback(() => {
    api
      .get<T>(path)
      .then(setData)
      .catch((e) => announce(messageOf(e), 'error'));
  }, [path, announce]);
  useEffect(() => {
    load();
    if (everyMs <= 0) return;
    const t = setInterval(load, everyMs);
    return () => clearInterval(t);
  }, [load, everyMs]);
  return [data, load];
}

/** "in 3 days 4 h" / "2 h 5 min ago", from a number of seconds. */
function span(seconds: number): string {
  const s = Math.abs(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const text = d > 0 ? `${d} day${d === 1 ? '' : 's'} ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

function Countdown(props: { exp: number; grace: number; offset: number }) {
  const [now, setNow] = useState(() => Math.floor(Date.now() / 1000) + props.offset);
  useEffect(() => {
    const t = setInterval(() => setNow(Math.floor(Date.now() / 1000) + props.offset), 30_000);
    return () => clearInterval(t);
  }, [props.offset]);
  const left = props.exp - now;
  const cls =
    left <= 0 ? 'countdown countdown-bad' : left < 14 * 86400 ? 'countdown countdown-warn' : 'countdown';
  return (
    <p>
      <span className={cls}>{left > 0 ? `Expires ${span(left)}` : `Expired ${span(left)}`}</span>
      <span className="block muted">
        {when(props.exp)}
        {props.grace > 0 ? ` (then ${span(props.grace).replace('in ', '')} of grace)` : ''}
      </span>
    </p>
  );
}

/** Overview: the license in force, its apps and the traffic chart. */
export function Overview() {
  const [o] = usePoll<OverviewData>(`${API}/overview`, 15_000);
  const [minutes, setMinutes] = useState(60);
  const [traffic] = usePoll<TrafficWindow>(`${API}/traffic?minutes=${minutes}`, 10_000);
  if (!o) return <p className="loading">Loading…</p>;
  const offset = o.now - Math.floor(Date.now() / 1000);
  return (
    <>
      <h1>Overview</h1>
      <section className="card" aria-labelledby="lic-h">
        <h2 id="lic-h">License</h2>
        <div className="stat-grid">
          <div className="stat">
            <span className="label">Site</span>
            <span className="value">{o.site.name}</span>
            <code className="block wrap">{o.site.id}</code>
          </div>
          <div className="stat">
            <span className="label">Serial</span>
            <span className="value" data-testid="serial">
              {o.serial}
            </span>
          </div>
          <div className="stat">
            <span className="label">Mode</span>
            <span className="value">{o.mode}</span>
            {o.mode !== o.license_mode && (
              <span className="block muted">tightened from {o.license_mode}</span>
            )}
          </div>
          <div className="stat">
            <span className="label">Build</span>
            <span className="value">{o.integrity}</span>
            <span className="block muted">{o.bound ? 'bound to this installation' : 'not bound'}</span>
          </div>
        </div>
        <Countdown exp={o.exp} grace={o.grace_s} offset={offset} />
        {o.admits_none && (
          <p className="bad-text" data-testid="admits-none">
            This license admits no apps: every app is refused with <code>app_not_admitted</code> (or{' '}
            <code>charter_revoked</code>). Ask the vendor for a license that admits the apps this site needs.
          </p>
        )}
        {o.revocation_update?.in_force && (
          <p className="hint" data-testid="revocation-update">
            Revocation update #{o.revocation_update.serial} is in force on top of this license (installed{' '}
            {when(o.revocation_update.installed_at)}).
          </p>
        )}
        <h3>Admitted apps</h3>
        <Table
          head={['App', 'Scopes', 'Rate limit']}
          rows={o.apps}
          rowKey={(a) => a.app_id}
          row={(a) => (
            <>
              <th scope="row">
                <code className="wrap">{a.app_id}</code>
                {o.revoked.apps.includes(a.app_id) && <span className="flag flag-bad">revoked</span>}
              </th>
              <td>
                {a.scopes.length === 0
                  ? 'as chartered'
                  : a.scopes.map((s) => (
                      <span key={s} className="chip">
                        {s}
                      </span>
                    ))}
              </td>
              <td>
                {a.rate
                  ? [
                      a.rate.per_instance_per_min !== undefined
                        ? `${a.rate.per_instance_per_min}/min per instance`
                        : '',
                      a.rate.per_app_per_min !== undefined ? `${a.rate.per_app_per_min}/min per app` : '',
                    ]
                      .filter(Boolean)
                      .join(', ')
                  : 'none'}
              </td>
            </>
          )}
        />
        <p className="hint">
          Web origins browsers may call from (CORS: those the license lists for its admitted apps, narrowed by{' '}
          <code>--cors-origin</code> if set):{' '}
          {o.cors_origins.length === 0 ? 'none' : o.cors_origins.join(', ')}.
        </p>
        <p className="hint">
          License <code className="wrap">{o.license_id}</code>, issued {when(o.iat)}. Revoked by the license:{' '}
          {o.revoked.instances.length} instance(s), {o.revoked.charters.length} charter(s),{' '}
          {o.revoked.apps.length} app(s); revoked here: {o.local_revocations.length} instance(s).
        </p>
        {o.android_revocation && (
          <p className="hint" data-testid="android-revocation">
            <span className={o.android_revocation.snapshot_age_days > 90 ? 'flag flag-bad' : 'flag'}>
              Android revocation snapshot {o.android_revocation.snapshot_age_days} days old
            </span>{' '}
            The bundled copy of Google's attestation status list is dated {o.android_revocation.snapshot_date}{' '}
            ({o.android_revocation.snapshot_serials} serials); this license adds{' '}
            {o.android_revocation.license_serials} serial(s). Certificates Google revoked since are refused
            only if the license brings them: ask the vendor for a license with a current list.
          </p>
        )}
      </section>
      <section className="card" aria-labelledby="traffic-h">
        <h2 id="traffic-h">Traffic per app</h2>
        <div className="toolbar">
          <label htmlFor="window">Window</label>
          <select id="window" value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
            <option value={60}>last hour</option>
            <option value={180}>last 3 hours</option>
            <option value={360}>last 6 hours</option>
          </select>
        </div>
        {!traffic ? (
          <p className="loading">Loading…</p>
        ) : traffic.apps.length === 0 ? (
          <p>No decisions in this window yet.</p>
        ) : (
          <TrafficChart data={traffic} title="Requests per minute by app" />
        )}
        <p className="hint">
          Live view of this gateway process since it started (kept in memory for six hours).
        </p>
      </section>
    </>
  );
}

/** Refusals by code and the latest refused requests, from the audit chain. */
export function Refusals() {
  const [r] = usePoll<{
    by_code: { code: string; refused: number; monitored: number }[];
    latest: RefusalRow[];
  }>(`${API}/refusals`, 15_000);
  if (!r) return <p className="loading">Loading…</p>;
  return (
    <>
      <h1>Refusals</h1>
      {r.by_code.length === 0 ? (
        <p>Nothing has been refused.</p>
      ) : (
        <BarChart
          title="Refusals by code"
          series={['refused', 'monitored (let through)']}
          bars={r.by_code.map((c) => ({
            label: c.code,
            values: [
              { name: 'refused', value: c.refused },
              { name: 'monitored', value: c.monitored },
            ],
          }))}
        />
      )}
      <h2>Latest refused requests</h2>
      <Table
        head={['When', 'Code', 'Reason', 'Endpoint', 'App', 'Instance']}
        rows={r.latest}
        rowKey={(x) => x.seq}
        row={(x) => (
          <>
            <td>{when(x.at)}</td>
            <td>
              <code>{x.code}</code>
              {x.kind === 'monitor' && <span className="block muted">monitored</span>}
            </td>
            <td>
              <code className="wrap">{x.detail ?? '—'}</code>
            </td>
            <td>{x.endpoint ?? '—'}</td>
            <td>
              <code className="wrap">{x.app_id ?? '—'}</code>
            </td>
            <td>
              <code className="wrap">{x.instance_id ?? '—'}</code>
            </td>
          </>
        )}
      />
    </>
  );
}

interface InstanceRow {
  instance_id: string;
  app_id?: string;
  platform?: string;
  attested: boolean;
  registered_at: number;
  revoked_by_license: boolean;
  revoked_locally: LocalRevocation | null;
}

/** Registered instances: search, and revoke one locally (only ever tightens). */
export function Instances() {
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const [data, reload] = usePoll<{ total: number; instances: InstanceRow[] }>(
    `${API}/instances?q=${encodeURIComponent(query)}`,
  );
  const [revoking, setRevoking] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const announce = useAnnounce();
  const search = (e: FormEvent) => {
    e.preventDefault();
    setQuery(q);
  };
  const revoke = async (e: FormEvent) => {
    e.preventDefault();
    if (!revoking) return;
    try {
      await api.post(`${API}/instances/${encodeURIComponent(revoking)}/revoke`, { reason });
      announce(`Instance ${revoking} revoked on this gateway.`);
      setRevoking(null);
      setReason('');
      reload();
    } catch (err) {
      announce(messageOf(err), 'error');
    }
  };
  return (
    <>
      <h1>Instances</h1>
      <form className="inline-form card" onSubmit={search} aria-label="Instance search">
        <Field label="Search instances" hint="Instance id, app id or platform">
          {(id, hint) => (
            <input
              id={id}
              aria-describedby={hint}
              type="search"
              value={q}
              onChange={(e) => setQ(e.target.value)}
            />
          )}
        </Field>
        <button type="submit">Search</button>
      </form>
      {revoking && (
        <form className="card" onSubmit={revoke} aria-labelledby="revoke-h">
          <h2 id="revoke-h">Revoke {revoking} here</h2>
          <p className="hint">
            The instance is refused with <code>instance_revoked</code> from its next request. A local
            revocation only adds to the license's; to undo it, or to revoke at every site, ask the vendor.
          </p>
          <Field label="Reason">
            {(id) => (
              <input
                id={id}
                required
                maxLength={500}
                value={reason}
                onChange={(e) => setReason(e.target.value)}
              />
            )}
          </Field>
          <div className="toolbar">
            <button type="submit" className="danger">
              Revoke instance
            </button>
            <button type="button" className="link" onClick={() => setRevoking(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {!data ? (
        <p className="loading">Loading…</p>
      ) : (
        <>
          <p>
            {data.instances.length} shown of {data.total} registered.
          </p>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Instance</th>
                  <th scope="col">App</th>
                  <th scope="col">Platform</th>
                  <th scope="col">Registered</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {data.instances.map((i) => (
                  <tr
                    key={i.instance_id}
                    className={i.revoked_by_license || i.revoked_locally ? 'row-bad' : ''}
                  >
                    <th scope="row">
                      <code className="wrap">{i.instance_id}</code>
                    </th>
                    <td>
                      <code className="wrap">{i.app_id ?? '—'}</code>
                    </td>
                    <td>
                      {i.platform ?? '—'}
                      {i.attested ? ' (attested)' : ''}
                    </td>
                    <td>{when(i.registered_at)}</td>
                    <td>
                      {i.revoked_by_license ? (
                        <span className="badge badge-revoked">revoked by the license</span>
                      ) : i.revoked_locally ? (
                        <span className="badge badge-revoked" title={i.revoked_locally.reason}>
                          revoked here by {i.revoked_locally.by}
                        </span>
                      ) : (
                        <button
                          type="button"
                          className="danger"
                          aria-label={`Revoke ${i.instance_id}`}
                          onClick={() => setRevoking(i.instance_id)}
                        >
                          Revoke…
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}

/** Install a new license file (the same path as `charter gateway license install`) and export a usage report. */
export function LicenseScreen() {
  const [file, setFile] = useState<File | null>(null);
  const [result, setResult] = useState<string>('');
  const [report, setReport] = useState<{ url: string; filename: string; seq: number } | null>(null);
  const [busy, setBusy] = useState(false);
  const announce = useAnnounce();
  const [latest] = usePoll<{ seq: number; token?: string; filename?: string }>(`${API}/report/latest`);
  const offerLatest = async () => {
    if (!latest?.token || !latest.filename) return;
    if (report) URL.revokeObjectURL(report.url);
    const url = URL.createObjectURL(new Blob([latest.token], { type: 'application/jwt' }));
    setReport({ url, filename: latest.filename, seq: latest.seq });
  };
  const install = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    try {
      const r = await api.post<{
        kind?: 'revocations';
        serial: number;
        previous_serial: number;
        installed: boolean;
        exp: number;
        revoked?: { charters: number; apps: number; instances: number };
      }>(`${API}/license`, { license: await file.text(), filename: file.name.slice(0, 255) });
      const text =
        r.kind === 'revocations'
          ? r.installed
            ? `Revocation update ${r.serial} installed: ${r.revoked?.apps ?? 0} app(s), ${r.revoked?.charters ?? 0} charter(s) and ${r.revoked?.instances ?? 0} instance(s) revoked, in force now.`
            : `Revocation update ${r.serial} is already installed.`
          : r.installed
            ? `License serial ${r.serial} installed (was ${r.previous_serial}); in force now, expires ${when(r.exp)}.`
            : `License serial ${r.serial} is already installed.`;
      setResult(text);
      announce(text);
    } catch (err) {
      setResult('');
      announce(`License refused: ${messageOf(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  const exportReport = async () => {
    setBusy(true);
    try {
      const r = await api.post<{ seq: number; filename: string; token: string }>(`${API}/report`, {});
      if (report) URL.revokeObjectURL(report.url);
      const url = URL.createObjectURL(new Blob([r.token], { type: 'application/jwt' }));
      setReport({ url, filename: r.filename, seq: r.seq });
      announce(`Usage report ${r.seq} made: download it and send it to the vendor.`);
    } catch (err) {
      announce(messageOf(err), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h1>License &amp; reports</h1>
      <div className="cols">
        <form className="card" onSubmit={install} aria-labelledby="install-h">
          <h2 id="install-h">Install a new license</h2>
          <p className="hint">
            The same checks as <code>charter gateway license install</code>: the vendor's signature, this
            site, not expired, and a serial not below the one installed. A revocation update from the vendor
            installs here too.
          </p>
          <Field label="License file (.license)">
            {(id) => (
              <input
                id={id}
                type="file"
                accept=".license,.jwt,text/plain"
                onChange={(e) => setFile(e.target.files?.[0] ?? null)}
              />
            )}
          </Field>
          <button type="submit" disabled={!file || busy}>
            Install license
          </button>
          {result && <p className="ok-text">{result}</p>}
        </form>
        <section className="card" aria-labelledby="report-h">
          <h2 id="report-h">Usage report</h2>
          <p className="hint">
            The counts since the last report, signed by this installation and chained to the previous report
            (the same as <code>charter gateway report export</code>). Send the file to the vendor.
          </p>
          <button type="button" onClick={exportReport} disabled={busy}>
            Export a usage report
          </button>
          {!report && latest?.token && (
            <p>
              <button type="button" className="link" onClick={offerLatest}>
                Download the last report ({latest.seq}) again
              </button>
            </p>
          )}
          {report && (
            <a className="download" href={report.url} download={report.filename}>
              Download report {report.seq} ({report.filename})
            </a>
          )}
        </section>
      </div>
    </>
  );
}

interface AdminRow {
  seq: number;
  at: number;
  actor?: string;
  action?: string;
  detail?: string;
  instance_id?: string;
  license_serial?: number;
}

/** The audit chain: verification, and what operators did. */
export function Activity() {
  const [data, reload] = usePoll<{ chain: { ok: boolean; entries: number }; admin: AdminRow[] }>(
    `${API}/activity`,
  );
  const [verdict, setVerdict] = useState<{
    ok: boolean;
    entries: number;
    broken_at?: number;
    reason?: string;
  }>();
  const announce = useAnnounce();
  const verify = async () => {
    try {
      const r = await api.post<{ ok: boolean; entries: number; broken_at?: number; reason?: string }>(
        `${API}/audit/verify`,
        {},
      );
      setVerdict(r);
      announce(
        r.ok
          ? `The audit chain verifies: ${r.entries} entries.`
          : `The audit chain is broken at entry ${r.broken_at}: ${r.reason}.`,
        r.ok ? 'ok' : 'error',
      );
      reload();
    } catch (err) {
      announce(messageOf(err), 'error');
    }
  };
  return (
    <>
      <h1>Audit log</h1>
      <section
        className={`card ${verdict ? (verdict.ok ? 'verdict-ok' : 'verdict-bad') : ''}`}
        aria-labelledby="chain-h"
      >
        <h2 id="chain-h">Hash chain</h2>
        <p>
          Every registration, refusal, license and operator action is an entry that commits to the one before
          it: a deleted, reordered or edited entry breaks every hash after it.
        </p>
        <button type="button" onClick={verify}>
          Verify the whole chain
        </button>
        {verdict && (
          <p className={verdict.ok ? 'ok-text' : 'bad-text'}>
            {verdict.ok
              ? `✓ Verified: ${verdict.entries} entries link up.`
              : `✗ Broken at entry ${verdict.broken_at}: ${verdict.reason}.`}
          </p>
        )}
      </section>
      <h2>Operator actions</h2>
      {!data ? (
        <p className="loading">Loading…</p>
      ) : (
        <Table
          head={['#', 'When', 'Operator', 'Action', 'Detail']}
          rows={data.admin}
          rowKey={(a) => a.seq}
          row={(a) => (
            <>
              <td>{a.seq}</td>
              <td>{when(a.at)}</td>
              <td>{a.actor ?? '—'}</td>
              <td>
                <code>{a.action ?? '—'}</code>
              </td>
              <td className="detail">
                {[a.instance_id, a.license_serial !== undefined ? `serial ${a.license_serial}` : '', a.detail]
                  .filter(Boolean)
                  .join(' · ')}
              </td>
            </>
          )}
        />
      )}
    </>
  );
}
