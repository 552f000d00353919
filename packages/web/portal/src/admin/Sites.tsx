/** The admin's sites screen: add a site, issue a license, revoke, send revocation updates. */
import { type FormEvent, useState } from 'react';
import { api, messageOf, when } from '../../../shared/src/api.ts';
import { Field, Table, useAnnounce } from '../../../shared/src/ui.tsx';
import type { Overview } from './data.ts';
import { RevocationUpdates } from './RevocationUpdates.tsx';

export function Sites({ data, reload }: { data: Overview; reload: () => void }) {
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
