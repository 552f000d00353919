/** The instances screen: search registered instances, revoke one locally. */
import { type FormEvent, useState } from 'react';
import { api, messageOf, when } from '../../../shared/src/api.ts';
import { Field, useAnnounce } from '../../../shared/src/ui.tsx';
import { API } from '../paths.ts';
import { type LocalRevocation, usePoll } from './poll.ts';

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
