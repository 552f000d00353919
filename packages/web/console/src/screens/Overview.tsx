/** The overview screen: the license in force, its apps, its countdown and the traffic chart. */
import { useEffect, useState } from 'react';
import { when } from '../../../shared/src/api.ts';
import { Table } from '../../../shared/src/ui.tsx';
import { API } from '../paths.ts';
import { TrafficChart, type TrafficWindow } from '../TrafficChart.tsx';
import { type LocalRevocation, usePoll } from './poll.ts';

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
