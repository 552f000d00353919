/** The reviewer's screens: the queue of pending submissions and one submission with its changes. */
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { api, messageOf, when } from '../../shared/src/api.ts';
import { Field, go, Table, useAnnounce } from '../../shared/src/ui.tsx';
import { Badge, BinaryChecks } from './binaries.tsx';
import type { BinaryView, Submission } from './Publisher.tsx';

interface Detail {
  submission: Submission;
  publisher: { id: string; name: string } | null;
  previous: { submission: Submission; charter_id: string; iat: number; exp: number } | null;
  changes: {
    field: string;
    change: 'added' | 'removed' | 'changed';
    before: string | null;
    after: string | null;
  }[];
  binaries: BinaryView[];
}

/** The reviewer's part of the portal. */
export function Reviewer(props: { route: string[] }) {
  if (props.route[0] === 'review' && props.route[1]) return <Review id={props.route[1]} />;
  return <Queue />;
}

function Queue() {
  const announce = useAnnounce();
  const [data, setData] = useState<{ submissions: Submission[]; decided: Submission[] } | null>(null);
  useEffect(() => {
    api
      .get<{ submissions: Submission[]; decided: Submission[] }>('/api/review/queue')
      .then(setData)
      .catch((e) => announce(messageOf(e), 'error'));
  }, [announce]);
  if (!data) return <p>Loading…</p>;
  return (
    <section>
      <h1>Review queue</h1>
      {data.submissions.length === 0 ? (
        <p>Nothing is waiting for review.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Pending submissions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">App</th>
                <th scope="col">Version</th>
                <th scope="col">Publisher</th>
                <th scope="col">Submitted</th>
                <th scope="col">
                  <span className="sr-only">Open</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.submissions.map((s) => (
                <tr key={s.id}>
                  <td>{s.name}</td>
                  <td>{s.version}</td>
                  <td>{s.publisher}</td>
                  <td>
                    {when(s.submitted_at)} <span className="muted">by {s.submitted_by}</span>
                  </td>
                  <td>
                    <a href={`#/review/${encodeURIComponent(s.id)}`}>
                      Review{' '}
                      <span className="sr-only">
                        {s.name} {s.version}
                      </span>
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Recently decided</h2>
      <Table
        head={['App', 'Version', 'Status', 'By', 'Reason']}
        rows={data.decided}
        rowKey={(s) => s.id}
        row={(s) => (
          <>
            <td>{s.name}</td>
            <td>{s.version}</td>
            <td>
              <Badge status={s.status} />
            </td>
            <td>{s.decided_by}</td>
            <td>{s.reason ?? ''}</td>
          </>
        )}
      />
    </section>
  );
}

function Platforms({ s }: { s: Submission }) {
  const p = s.platforms;
  return (
    <dl className="facts">
      {p.web && (
        <>
          <dt>Web origins</dt>
          <dd>
            {p.web.origins.map((o) => (
              <code key={o} className="chip">
                {o}
              </code>
            ))}
          </dd>
        </>
      )}
      {p.android && (
        <>
          <dt>Android package</dt>
          <dd>
            <code>{p.android.package_name}</code>
          </dd>
          <dt>Android signing certificates (SHA-256)</dt>
          <dd>
            {p.android.signing_cert_sha256.map((d) => (
              <code key={d} className="wrap block">
                {d}
              </code>
            ))}
          </dd>
        </>
      )}
      {p.ios && (
        <>
          <dt>iOS team / bundle</dt>
          <dd>
            <code>{p.ios.team_id}</code> / <code>{p.ios.bundle_id}</code>
          </dd>
        </>
      )}
      {p.server && (
        <>
          <dt>Server</dt>
          <dd>the publisher's backend</dd>
        </>
      )}
      <dt>Attestation</dt>
      <dd>
        {s.attestation
          ? Object.entries(s.attestation)
              .map(([k, v]) => `${k}: ${v}`)
              .join(', ')
          : 'required (default)'}
      </dd>
    </dl>
  );
}

function Review({ id }: { id: string }) {
  const announce = useAnnounce();
  const [d, setD] = useState<Detail | null>(null);
  const [ttl, setTtl] = useState('180d');
  const [reason, setReason] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const load = useCallback(() => {
    api
      .get<Detail>(`/api/review/submissions/${encodeURIComponent(id)}`)
      .then(setD)
      .catch((e) => announce(messageOf(e), 'error'));
  }, [id, announce]);
  useEffect(load, [load]);
  if (!d) return <p>Loading…</p>;
  const s = d.submission;

  const act = async (what: 'approve' | 'reject', e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      if (what === 'approve') {
        const r = await api.post<{ charter_id: string; exp: number }>(
          `/api/review/submissions/${encodeURIComponent(s.id)}/approve`,
          { ttl },
        );
        announce(`Approved ${s.name} ${s.version}: charter ${r.charter_id}, valid until ${when(r.exp)}.`);
      } else {
        await api.post(`/api/review/submissions/${encodeURIComponent(s.id)}/reject`, { reason });
        announce(`Rejected ${s.name} ${s.version}.`);
      }
      go('queue');
    } catch (err) {
      announce(messageOf(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  const upload = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    try {
      await api.upload(`/api/review/submissions/${encodeURIComponent(s.id)}/binary`, file);
      announce(`Read ${file.name}.`);
      load();
    } catch (err) {
      announce(messageOf(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <p>
        <a href="#/queue">← Back to the queue</a>
      </p>
      <h1>
        {s.name} {s.version} <Badge status={s.status} />
      </h1>
      <div className="cols">
        <section className="card" aria-labelledby="asks-h">
          <h2 id="asks-h">What it asks for</h2>
          <dl className="facts">
            <dt>Publisher</dt>
            <dd>{d.publisher?.name ?? s.publisher_id}</dd>
            <dt>App id</dt>
            <dd>
              <code>{s.app_id}</code>
            </dd>
            <dt>Submitted</dt>
            <dd>
              {when(s.submitted_at)} by {s.submitted_by}
            </dd>
            <dt>Scopes</dt>
            <dd>
              {s.scopes.map((x) => (
                <code key={x} className="chip">
                  {x}
                </code>
              ))}
            </dd>
          </dl>
          <Platforms s={s} />
          {s.notes && (
            <>
              <h3>Notes from the publisher</h3>
              <p className="notes">{s.notes}</p>
            </>
          )}
        </section>
        <section className="card" aria-labelledby="changes-h">
          <h2 id="changes-h">What changed</h2>
          {d.previous ? (
            <p>
              Since version {d.previous.submission.version}, approved in charter{' '}
              <code>{d.previous.charter_id}</code> ({when(d.previous.iat)}).
            </p>
          ) : (
            <p>First approval of this app: everything below is new.</p>
          )}
          {d.changes.length === 0 ? (
            <p>No change.</p>
          ) : (
            <ul className="changes">
              {d.changes.map((c) => (
                <li key={`${c.field}-${c.before}-${c.after}`} className={`change-${c.change}`}>
                  <strong>
                    {c.change === 'added' ? '+ added' : c.change === 'removed' ? '− removed' : '~ changed'}
                  </strong>{' '}
                  {c.field}:{' '}
                  {c.change === 'changed' ? (
                    <>
                      <del>{c.before}</del> → <ins>{c.after}</ins>
                    </>
                  ) : (
                    <code className="wrap">{c.after ?? c.before}</code>
                  )}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <section className="card" aria-labelledby="bin-h">
        <h2 id="bin-h">Binaries</h2>
        {d.binaries.length === 0 && <p>No binary uploaded yet.</p>}
        {d.binaries.map((b) => (
          <BinaryChecks key={b.id ?? b.sha256} binary={b} />
        ))}
        <form onSubmit={upload} className="inline-form">
          <Field label="Read an APK or IPA">
            {(fid) => (
              <input
                id={fid}
                type="file"
                accept=".apk,.ipa"
                onChange={(e) => setFile(e.target.files?.[0] ?? null)}
              />
            )}
          </Field>
          <button type="submit" disabled={busy || !file}>
            Read binary
          </button>
        </form>
      </section>
      {s.status === 'pending' && (
        <div className="cols">
          <form className="card" onSubmit={(e) => act('approve', e)} aria-labelledby="approve-h">
            <h2 id="approve-h">Approve</h2>
            <Field label="Charter validity" hint="e.g. 90d, 180d, 1y">
              {(fid, hint) => (
                <input
                  id={fid}
                  aria-describedby={hint}
                  required
                  value={ttl}
                  onChange={(e) => setTtl(e.target.value)}
                />
              )}
            </Field>
            <button type="submit" disabled={busy}>
              Approve and sign the charter
            </button>
          </form>
          <form className="card" onSubmit={(e) => act('reject', e)} aria-labelledby="reject-h">
            <h2 id="reject-h">Reject</h2>
            <Field label="Reason for the publisher">
              {(fid) => (
                <textarea
                  id={fid}
                  required
                  rows={3}
                  maxLength={2000}
                  value={reason}
                  onChange={(e) => setReason(e.target.value)}
                />
              )}
            </Field>
            <button type="submit" className="danger" disabled={busy}>
              Reject
            </button>
          </form>
        </div>
      )}
    </section>
  );
}
