/** The vendor admin's screens: sites and licenses, revocations, usage reports with charts, the record. */
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { api, messageOf, when } from './api.ts';
import { BarChart, Field, Table, useAnnounce } from './ui.tsx';

interface Overview {
  sites: {
    site_id: string;
    name: string;
    licenses: number;
    latest_serial: number | null;
    latest_exp: number | null;
  }[];
  apps: {
    app_id: string;
    name: string;
    publisher: string;
    status: string;
    charter_id: string | null;
    charter_exp: number | null;
    revoked: boolean;
  }[];
  licenses: {
    license_id: string;
    site_id: string;
    serial: number;
    exp: number;
    apps: string[];
    mode: string;
    issued_by: string;
  }[];
  revocations: {
    id: string;
    kind: string;
    target: string;
    reason: string;
    revoked_by: string;
    revoked_at: number;
  }[];
  users: {
    id: string;
    email: string;
    role: string;
    publisher_id: string | null;
    publisher_name: string | null;
    locked_until: number;
  }[];
  publishers: { id: string; name: string; created_at: number }[];
  revocation_status: RevocationStatus[];
}

/** Where a site stands with revocations (Vendor.revocationStatus). */
interface RevocationStatus {
  site_id: string;
  name: string;
  latest_license_serial: number | null;
  behind: boolean;
  missing: number;
  update: { revocations_id: string; serial: number; exp: number; iat: number } | null;
  reported_serial: number | null;
  installed: boolean | null;
}

interface Verdict {
  ok: boolean;
  reports: { file: number; site?: string; seq?: number; status: string; reason?: string }[];
  gaps: { site: string; jkt: string; missing: number[] }[];
  forks: { site: string; seq?: number; hashes: string[] }[];
  backwards: { site: string; seq: number; what: string }[];
  reactivations: { site: string; installations: string[] }[];
}

interface Usage {
  sites: Record<string, { admitted: number; denied: number }>;
  apps: Record<string, { admitted: number; denied: number; instances: number }>;
}

function useOverview(): [Overview | null, () => void] {
  const announce = useAnnounce();
  const [data, setData] = useState<Overview | null>(null);
  const load = useCallback(() => {
    api
      .get<Overview>('/api/admin/overview')
      .then(setData)
      .catch((e) => announce(messageOf(e), 'error'));
  }, [announce]);
  useEffect(load, [load]);
  return [data, load];
}

/** The admin's part of the portal. */
export function Admin(props: { route: string[] }) {
  const [data, reload] = useOverview();
  // Each screen shows fresh data (reports uploaded on one change what another shows); `screen` is the trigger.
  const screen = props.route[0];
  const first = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `screen` is the trigger: moving to another screen reloads the data
  useEffect(() => {
    if (first.current) first.current = false;
    else reload();
  }, [screen, reload]);
  if (!data) return <p>Loading…</p>;
  if (props.route[0] === 'reports') return <Reports data={data} />;
  if (props.route[0] === 'record') return <Record />;
  if (props.route[0] === 'people') return <People data={data} reload={reload} />;
  return <Sites data={data} reload={reload} />;
}

function Sites({ data, reload }: { data: Overview; reload: () => void }) {
  const announce = useAnnounce();
  const [siteName, setSiteName] = useState('');
  const [siteId, setSiteId] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [ttl, setTtl] = useState('365d');
  const [mode, setMode] = useState('enforce');
  const [activation, setActivation] = useState('');
  const [issued, setIssued] = useState<{ license_id: string; serial: number; exp: number } | null>(null);
  const [rev, setRev] = useState({ kind: 'app', target: '', reason: '' });
  const approved = data.apps.filter(
    (a) => a.charter_id && !a.revoked && (a.charter_exp ?? 0) > Date.now() / 1000,
  );
  const names = new Map(data.apps.map((a) => [a.app_id, a.name]));
  const site = siteId || data.sites[0]?.site_id || '';

  const run = async (e: FormEvent, what: () => Promise<void>) => {
    e.preventDefault();
    try {
      await what();
      reload();
    } catch (err) {
      announce(messageOf(err), 'error');
    }
  };

  return (
    <section>
      <h1>Sites &amp; licenses</h1>
      <div className="cols">
        <form
          className="card"
          aria-labelledby="site-h"
          onSubmit={(e) =>
            run(e, async () => {
              const r = await api.post<{ site_id: string }>('/api/admin/sites', { name: siteName });
              announce(`Site ${siteName} added (${r.site_id}).`);
              setSiteName('');
              setSiteId(r.site_id);
            })
          }
        >
          <h2 id="site-h">Add a site</h2>
          <Field label="Site name">
            {(id) => (
              <input id={id} required value={siteName} onChange={(e) => setSiteName(e.target.value)} />
            )}
          </Field>
          <button type="submit">Add site</button>
        </form>
        <form
          className="card"
          aria-labelledby="lic-h"
          onSubmit={(e) =>
            run(e, async () => {
              const r = await api.post<{ license_id: string; serial: number; exp: number }>(
                '/api/admin/licenses',
                {
                  siteId: site,
                  appIds: chosen,
                  ttl,
                  mode,
                  ...(activation.trim() ? { activation: activation.trim() } : {}),
                },
              );
              setIssued(r);
              announce(`License serial ${r.serial} issued, valid until ${when(r.exp)}.`);
            })
          }
        >
          <h2 id="lic-h">Issue a license</h2>
          <Field label="Site">
            {(id) => (
              <select id={id} value={site} onChange={(e) => setSiteId(e.target.value)} required>
                {data.sites.map((s) => (
                  <option key={s.site_id} value={s.site_id}>
                    {s.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <fieldset>
            <legend>Apps to admit (approved catalogue)</legend>
            {approved.length === 0 && <p className="muted">No approved app yet.</p>}
            {approved.map((a) => (
              <div className="check" key={a.app_id}>
                <input
                  id={`app-${a.app_id}`}
                  type="checkbox"
                  checked={chosen.includes(a.app_id)}
                  onChange={(e) =>
                    setChosen((c) => (e.target.checked ? [...c, a.app_id] : c.filter((x) => x !== a.app_id)))
                  }
                />
                <label htmlFor={`app-${a.app_id}`}>
                  {a.name} <span className="muted">({a.publisher})</span>
                </label>
              </div>
            ))}
          </fieldset>
          <Field label="License validity" hint="e.g. 365d">
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                required
                value={ttl}
                onChange={(e) => setTtl(e.target.value)}
              />
            )}
          </Field>
          <Field label="Mode">
            {(id) => (
              <select id={id} value={mode} onChange={(e) => setMode(e.target.value)}>
                <option value="enforce">enforce</option>
                <option value="monitor">monitor</option>
              </select>
            )}
          </Field>
          <Field
            label="Activation request (optional)"
            hint="Paste the site's request.jwt to bind the license to its installation"
          >
            {(id, d) => (
              <textarea
                id={id}
                aria-describedby={d}
                rows={2}
                value={activation}
                onChange={(e) => setActivation(e.target.value)}
              />
            )}
          </Field>
          <button type="submit" disabled={!site || chosen.length === 0}>
            Issue license
          </button>
          {issued && (
            <p>
              Serial {issued.serial} issued.{' '}
              <a href={`/api/admin/licenses/${encodeURIComponent(issued.license_id)}/download`} download>
                Download the license
              </a>
            </p>
          )}
        </form>
      </div>
      <h2>Sites</h2>
      <Table
        head={['Site', 'Id', 'Licenses', 'Latest serial', 'Expires']}
        rows={data.sites}
        rowKey={(s) => s.site_id}
        row={(s) => (
          <>
            <td>{s.name}</td>
            <td>
              <code>{s.site_id}</code>
            </td>
            <td>{s.licenses}</td>
            <td>{s.latest_serial ?? '—'}</td>
            <td>{when(s.latest_exp)}</td>
          </>
        )}
      />
      <h2>Licenses</h2>
      <Table
        head={['Site', 'Serial', 'Mode', 'Apps', 'Expires', 'File']}
        rows={data.licenses}
        rowKey={(l) => l.license_id}
        row={(l) => (
          <>
            <td>{data.sites.find((s) => s.site_id === l.site_id)?.name ?? l.site_id}</td>
            <td>{l.serial}</td>
            <td>{l.mode}</td>
            <td>{l.apps.map((a) => names.get(a) ?? a).join(', ')}</td>
            <td>{when(l.exp)}</td>
            <td>
              <a href={`/api/admin/licenses/${encodeURIComponent(l.license_id)}/download`} download>
                Download <span className="sr-only">license serial {l.serial}</span>
              </a>
            </td>
          </>
        )}
      />
      <form
        className="card"
        aria-labelledby="rev-h"
        onSubmit={(e) =>
          run(e, async () => {
            await api.post('/api/admin/revocations', rev);
            announce(
              `Revoked ${rev.kind} ${rev.target}. It is carried in every license issued from now on; issue revocation updates below to reach the sites now.`,
            );
            setRev({ kind: 'app', target: '', reason: '' });
          })
        }
      >
        <h2 id="rev-h">Revoke</h2>
        <div className="inline-form">
          <Field label="Kind">
            {(id) => (
              <select id={id} value={rev.kind} onChange={(e) => setRev({ ...rev, kind: e.target.value })}>
                <option value="app">app</option>
                <option value="charter">charter</option>
                <option value="instance">instance</option>
              </select>
            )}
          </Field>
          <Field label="Id to revoke">
            {(id) => (
              <input
                id={id}
                required
                value={rev.target}
                onChange={(e) => setRev({ ...rev, target: e.target.value })}
              />
            )}
          </Field>
          <Field label="Reason">
            {(id) => (
              <input
                id={id}
                required
                value={rev.reason}
                onChange={(e) => setRev({ ...rev, reason: e.target.value })}
              />
            )}
          </Field>
          <button type="submit" className="danger">
            Revoke
          </button>
        </div>
        {data.revocations.length > 0 && (
          <ul>
            {data.revocations.map((r) => (
              <li key={r.id}>
                {r.kind} <code>{r.target}</code>: {r.reason}{' '}
                <span className="muted">
                  ({r.revoked_by}, {when(r.revoked_at)})
                </span>
              </li>
            ))}
          </ul>
        )}
      </form>
      <RevocationUpdates status={data.revocation_status} reload={reload} />
    </section>
  );
}

/**
 * Revocation updates: one click signs a `charter-revocations+jwt` for every site whose latest license
 * or update lacks a revocation; the table says, from the sites' usage reports, which have installed it.
 */
function RevocationUpdates({ status, reload }: { status: RevocationStatus[]; reload: () => void }) {
  const announce = useAnnounce();
  const [busy, setBusy] = useState(false);
  const behind = status.filter((s) => s.behind);
  const issue = async () => {
    setBusy(true);
    try {
      const r = await api.post<{ updates: { site_id: string; serial: number }[] }>(
        '/api/admin/revocations/updates',
        {},
      );
      announce(
        `Revocation updates issued for ${r.updates.length} site(s). Download each and install it at the site (charter gateway license install, or the console's upload).`,
      );
      reload();
    } catch (err) {
      announce(messageOf(err), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="rvu-h">
      <h2 id="rvu-h">Revocation updates</h2>
      <p className="hint">
        A signed update carries every revocation to a site at once, without changing its license; the site
        installs it like a license. Sites behind: {behind.length}.
      </p>
      <button type="button" className="danger" disabled={busy || behind.length === 0} onClick={issue}>
        Issue revocation updates to {behind.length} site(s) behind
      </button>
      <Table
        head={['Site', 'License', 'Revocations', 'Latest update', 'Installed (from reports)', 'File']}
        rows={status.filter((s) => s.latest_license_serial !== null)}
        rowKey={(s) => s.site_id}
        row={(s) => (
          <>
            <th scope="row">{s.name}</th>
            <td>{s.latest_license_serial}</td>
            <td>
              {s.behind ? <span className="flag flag-bad">behind: {s.missing} missing</span> : 'up to date'}
            </td>
            <td>{s.update ? `serial ${s.update.serial}, until ${when(s.update.exp)}` : 'none'}</td>
            <td data-testid={`installed-${s.site_id}`}>
              {s.installed === null
                ? '—'
                : s.installed
                  ? 'installed'
                  : `not yet (reported ${s.reported_serial === null ? 'nothing' : `serial ${s.reported_serial}`})`}
            </td>
            <td>
              {s.update && (
                <a
                  href={`/api/admin/revocations/updates/${encodeURIComponent(s.update.revocations_id)}/download`}
                  download
                >
                  Download <span className="sr-only">revocation update for {s.name}</span>
                </a>
              )}
            </td>
          </>
        )}
      />
    </section>
  );
}

/** Publishers and accounts: everyone after the first admin is added here, not on the command line. */
function People({ data, reload }: { data: Overview; reload: () => void }) {
  const announce = useAnnounce();
  const [publisherName, setPublisherName] = useState('');
  const [account, setAccount] = useState({ email: '', role: 'publisher', publisherId: '', password: '' });
  const publisherId = account.publisherId || data.publishers[0]?.id || '';
  const run = async (e: FormEvent, what: () => Promise<void>) => {
    e.preventDefault();
    try {
      await what();
      reload();
    } catch (err) {
      announce(messageOf(err), 'error');
    }
  };
  return (
    <section>
      <h1>People</h1>
      <div className="cols">
        <form
          className="card"
          aria-labelledby="pub-h"
          onSubmit={(e) =>
            run(e, async () => {
              const r = await api.post<{ publisher_id: string }>('/api/admin/publishers', {
                name: publisherName,
              });
              announce(`Publisher ${publisherName} added (${r.publisher_id}).`);
              setPublisherName('');
              setAccount((a) => ({ ...a, publisherId: r.publisher_id }));
            })
          }
        >
          <h2 id="pub-h">Add a publisher</h2>
          <Field label="Publisher name">
            {(id) => (
              <input
                id={id}
                required
                value={publisherName}
                onChange={(e) => setPublisherName(e.target.value)}
              />
            )}
          </Field>
          <button type="submit">Add publisher</button>
        </form>
        <form
          className="card"
          aria-labelledby="acct-h"
          onSubmit={(e) =>
            run(e, async () => {
              const body = {
                email: account.email,
                role: account.role,
                password: account.password,
                ...(account.role === 'publisher' ? { publisherId } : {}),
              };
              const r = await api.post<{ email: string; role: string }>('/api/admin/users', body);
              announce(
                `Account ${r.email} (${r.role}) added. Give them the initial password by a separate channel.`,
              );
              setAccount({ email: '', role: account.role, publisherId: account.publisherId, password: '' });
            })
          }
        >
          <h2 id="acct-h">Add an account</h2>
          <Field label="Email">
            {(id) => (
              <input
                id={id}
                type="email"
                required
                autoComplete="off"
                value={account.email}
                onChange={(e) => setAccount({ ...account, email: e.target.value })}
              />
            )}
          </Field>
          <Field label="Role">
            {(id) => (
              <select
                id={id}
                value={account.role}
                onChange={(e) => setAccount({ ...account, role: e.target.value })}
              >
                <option value="publisher">publisher</option>
                <option value="reviewer">reviewer</option>
                <option value="admin">admin</option>
              </select>
            )}
          </Field>
          {account.role === 'publisher' && (
            <Field label="Publisher">
              {(id) => (
                <select
                  id={id}
                  required
                  value={publisherId}
                  onChange={(e) => setAccount({ ...account, publisherId: e.target.value })}
                >
                  {data.publishers.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          <Field label="Initial password (at least 12 characters)">
            {(id) => (
              <input
                id={id}
                type="password"
                required
                minLength={12}
                autoComplete="new-password"
                value={account.password}
                onChange={(e) => setAccount({ ...account, password: e.target.value })}
              />
            )}
          </Field>
          <button type="submit">Add account</button>
        </form>
      </div>
      <h2>Accounts</h2>
      <Table
        head={['Email', 'Role', 'Publisher']}
        rows={data.users}
        rowKey={(u) => u.id}
        row={(u) => (
          <>
            <td>{u.email}</td>
            <td>{u.role}</td>
            <td>{u.publisher_name ?? '—'}</td>
          </>
        )}
      />
    </section>
  );
}

function Reports({ data }: { data: Overview }) {
  const announce = useAnnounce();
  const [files, setFiles] = useState<File[]>([]);
  const [result, setResult] = useState<{ verdict: Verdict; usage: Usage; names: string[] } | null>(null);
  const siteName = (id: string) => data.sites.find((s) => s.site_id === id)?.name ?? id;
  const appName = (id: string) => data.apps.find((a) => a.app_id === id)?.name ?? id;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const reports = await Promise.all(files.map((f) => f.text()));
      const r = await api.post<{ verdict: Verdict; usage: Usage }>('/api/admin/reports', { reports });
      setResult({ ...r, names: files.map((f) => f.name) });
      announce(
        r.verdict.ok ? `${files.length} reports verified: unbroken.` : 'The reports show problems.',
        r.verdict.ok ? 'ok' : 'error',
      );
    } catch (err) {
      announce(messageOf(err), 'error');
    }
  };

  const v = result?.verdict;
  const problems = v
    ? [
        ...v.reports
          .filter((r) => r.status !== 'ok')
          .map(
            (r) =>
              `${result?.names[r.file] ?? `file ${r.file + 1}`}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`,
          ),
        ...v.gaps.map((g) => `Gap at ${siteName(g.site)}: missing report(s) ${g.missing.join(', ')}`),
        ...v.forks.map(
          (f) =>
            `Fork at ${siteName(f.site)}: ${f.hashes.length} reports share ${f.seq !== undefined ? `seq ${f.seq}` : 'one prev'}`,
        ),
        ...v.backwards.map((b) => `At ${siteName(b.site)}, report ${b.seq}: ${b.what}`),
        ...v.reactivations.map(
          (r) => `${siteName(r.site)} was activated on ${r.installations.length} installations`,
        ),
      ]
    : [];

  return (
    <section>
      <h1>Usage reports</h1>
      <form className="card inline-form" onSubmit={submit}>
        <Field
          label="Report files (charter-report+jwt)"
          hint="Select every report a site sent; order does not matter"
        >
          {(id, d) => (
            <input
              id={id}
              aria-describedby={d}
              type="file"
              multiple
              onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
            />
          )}
        </Field>
        <button type="submit" disabled={files.length === 0}>
          Verify reports
        </button>
      </form>
      {result && v && (
        <>
          <section
            className={`card verdict ${v.ok ? 'verdict-ok' : 'verdict-bad'}`}
            aria-labelledby="verdict-h"
          >
            <h2 id="verdict-h">{v.ok ? 'Unbroken chain' : 'Report chain problems'}</h2>
            <p>
              {v.reports.length} report{v.reports.length === 1 ? '' : 's'} checked.
            </p>
            {problems.length > 0 && (
              <ul>
                {problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            )}
          </section>
          <div className="cols">
            <BarChart
              title="Requests per site"
              series={['admitted', 'denied']}
              bars={Object.entries(result.usage.sites).map(([id, u]) => ({
                label: siteName(id),
                values: [
                  { name: 'admitted', value: u.admitted },
                  { name: 'denied', value: u.denied },
                ],
              }))}
            />
            <BarChart
              title="Requests per app"
              series={['admitted', 'denied']}
              bars={Object.entries(result.usage.apps).map(([id, u]) => ({
                label: appName(id),
                values: [
                  { name: 'admitted', value: u.admitted },
                  { name: 'denied', value: u.denied },
                ],
              }))}
            />
          </div>
        </>
      )}
    </section>
  );
}

function Record() {
  const announce = useAnnounce();
  const [events, setEvents] = useState<
    { seq: number; at: number; actor: string; action: string; subject: string }[]
  >([]);
  useEffect(() => {
    api
      .get<{ events: typeof events }>('/api/admin/events')
      .then((r) => setEvents(r.events))
      .catch((e) => announce(messageOf(e), 'error'));
  }, [announce]);
  return (
    <section>
      <h1>Record</h1>
      <p className="muted">Every decision and sign-in, newest first.</p>
      <Table
        head={['#', 'When', 'Who', 'Action', 'Subject']}
        rows={events}
        rowKey={(e) => e.seq}
        row={(e) => (
          <>
            <td>{e.seq}</td>
            <td>{when(e.at)}</td>
            <td>{e.actor}</td>
            <td>{e.action}</td>
            <td>
              <code className="wrap">{e.subject}</code>
            </td>
          </>
        )}
      />
    </section>
  );
}
