/** The admin's people screen: publishers and accounts. */
import { type FormEvent, useState } from 'react';
import { api, messageOf } from '../../../shared/src/api.ts';
import { Field, Table, useAnnounce } from '../../../shared/src/ui.tsx';
import type { Overview } from './data.ts';

/** Publishers and accounts: everyone after the first admin is added here, not on the command line. */
export function People({ data, reload }: { data: Overview; reload: () => void }) {
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
