/** The publisher's screens: their apps and submissions, the submit form, charter downloads. */
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { api, messageOf, when } from '../../shared/src/api.ts';
import { Field, useAnnounce } from '../../shared/src/ui.tsx';
import { Badge, BinaryChecks } from './binaries.tsx';
import type { User } from './user.ts';

/** A recorded binary with its checks against the submission. */
export interface BinaryView {
  id?: string;
  filename: string;
  sha256: string;
  facts: Record<string, unknown>;
  checks: { field: string; declared: string | null; found: string | null; match: boolean }[];
}

/** A submission as the API returns it. */
export interface Submission {
  id: string;
  app_id: string;
  publisher_id: string;
  name: string;
  version: string;
  scopes: string[];
  platforms: {
    web?: { origins: string[] };
    android?: { package_name: string; signing_cert_sha256: string[] };
    ios?: { team_id: string; bundle_id: string };
    server?: Record<string, never>;
  };
  attestation: { android?: string; ios?: string } | null;
  notes: string | null;
  status: 'pending' | 'approved' | 'rejected';
  submitted_by: string;
  submitted_at: number;
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
  binaries?: BinaryView[];
  publisher?: string | null;
}

interface MyApps {
  apps: { app_id: string; name: string; status: string; charter_id: string | null; revoked: boolean }[];
  submissions: Submission[];
}

/** The publisher's part of the portal. */
export function Publisher(props: { route: string[]; user: User }) {
  const [data, setData] = useState<MyApps | null>(null);
  const announce = useAnnounce();
  const load = useCallback(() => {
    api
      .get<MyApps>('/api/publisher/apps')
      .then(setData)
      .catch((e) => announce(messageOf(e), 'error'));
  }, [announce]);
  useEffect(load, [load]);
  if (props.route[0] === 'submit')
    return (
      <SubmitForm
        key={props.route[1] ?? 'new'}
        appId={props.route[1]}
        data={data}
        onDone={load}
        publisher={props.user.publisher_name}
      />
    );
  return <MyAppsView data={data} />;
}

function MyAppsView({ data }: { data: MyApps | null }) {
  if (!data) return <p>Loading…</p>;
  return (
    <section>
      <h1>My apps</h1>
      {data.submissions.length === 0 && (
        <p>
          No submissions yet. <a href="#/submit">Submit an app</a>.
        </p>
      )}
      {data.apps.map((app) => (
        <section key={app.app_id} className="card" aria-labelledby={`app-${app.app_id}`}>
          <h2 id={`app-${app.app_id}`}>
            {app.name} {app.revoked && <Badge status="revoked" />}
          </h2>
          <p className="muted">
            App id <code>{app.app_id}</code> ·{' '}
            <a href={`#/submit/${app.app_id}`}>Submit a new version of {app.name}</a>
          </p>
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Submissions of {app.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Submitted</th>
                  <th scope="col">Status</th>
                  <th scope="col">Decision</th>
                  <th scope="col">Charter</th>
                </tr>
              </thead>
              <tbody>
                {data.submissions
                  .filter((s) => s.app_id === app.app_id)
                  .map((s) => (
                    <tr key={s.id}>
                      <td>{s.version}</td>
                      <td>{when(s.submitted_at)}</td>
                      <td>
                        <Badge status={s.status} />
                      </td>
                      <td>
                        {s.status === 'rejected' && (
                          <span className="reason">
                            Rejected: <q>{s.reason}</q>
                          </span>
                        )}
                        {s.status === 'approved' && `Approved ${when(s.decided_at)}`}
                        {s.status === 'pending' && 'Waiting for review'}
                      </td>
                      <td>
                        {s.status === 'approved' ? (
                          <a href={`/api/publisher/submissions/${encodeURIComponent(s.id)}/charter`} download>
                            Download charter <span className="sr-only">for version {s.version}</span>
                          </a>
                        ) : (
                          '—'
                        )}
                      </td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </div>
          {data.submissions
            .filter((s) => s.app_id === app.app_id && (s.binaries?.length ?? 0) > 0)
            .slice(0, 1)
            .flatMap((s) => s.binaries ?? [])
            .map((b) => (
              <BinaryChecks key={b.id ?? b.sha256} binary={b} />
            ))}
        </section>
      ))}
    </section>
  );
}

const EMPTY_FORM = {
  name: '',
  version: '1',
  scopes: '',
  webOrigins: '',
  androidPackage: '',
  androidCerts: '',
  iosTeamId: '',
  iosBundleId: '',
  server: false,
  attestation: 'required',
  notes: '',
};

const lines = (text: string): string[] =>
  text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function SubmitForm(props: {
  appId?: string;
  data: MyApps | null;
  onDone: () => void;
  publisher: string | null;
}) {
  const announce = useAnnounce();
  const latest = props.appId ? props.data?.submissions.find((s) => s.app_id === props.appId) : undefined;
  const [form, setForm] = useState(EMPTY_FORM);
  const [file, setFile] = useState<File | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ submission_id: string; app_id: string; binary?: BinaryView } | null>(
    null,
  );
  const [error, setError] = useState('');

  // A new version starts from what the latest version declared.
  useEffect(() => {
    if (!latest) return;
    const p = latest.platforms;
    setForm({
      name: latest.name,
      version: '',
      scopes: latest.scopes.join(', '),
      webOrigins: (p.web?.origins ?? []).join('\n'),
      androidPackage: p.android?.package_name ?? '',
      androidCerts: (p.android?.signing_cert_sha256 ?? []).join('\n'),
      iosTeamId: p.ios?.team_id ?? '',
      iosBundleId: p.ios?.bundle_id ?? '',
      server: p.server !== undefined,
      attestation: latest.attestation?.android ?? latest.attestation?.ios ?? 'required',
      notes: '',
    });
  }, [latest]);

  const set = (k: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [k]: e.target.value }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    setResult(null);
    try {
      const body: Record<string, unknown> = {
        name: form.name.trim(),
        scopes: lines(form.scopes),
        version: form.version.trim() || '1',
        attestation: form.attestation,
      };
      if (props.appId) body.appId = props.appId;
      if (form.notes.trim()) body.notes = form.notes.trim();
      if (lines(form.webOrigins).length) body.webOrigins = lines(form.webOrigins);
      if (form.androidPackage.trim()) body.androidPackage = form.androidPackage.trim();
      if (lines(form.androidCerts).length) body.androidCertSha256 = lines(form.androidCerts);
      if (form.iosTeamId.trim()) body.iosTeamId = form.iosTeamId.trim();
      if (form.iosBundleId.trim()) body.iosBundleId = form.iosBundleId.trim();
      if (form.server) body.server = true;
      const r = await api.post<{ submission_id: string; app_id: string }>('/api/publisher/submissions', body);
      let binary: BinaryView | undefined;
      if (file) {
        try {
          binary = await api.upload<BinaryView>(`/api/publisher/submissions/${r.submission_id}/binary`, file);
        } catch (err) {
          announce(`Submitted, but the binary could not be read: ${messageOf(err)}`, 'error');
        }
      }
      setResult({ ...r, ...(binary ? { binary } : {}) });
      // A fresh form for the next app; the result stays on screen.
      setForm(EMPTY_FORM);
      setFile(null);
      if (fileRef.current) fileRef.current.value = '';
      if (!file || binary) announce(`Submitted for review: submission ${r.submission_id}.`);
      props.onDone();
    } catch (err) {
      setError(messageOf(err));
      announce(messageOf(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>{props.appId ? `Submit a new version of ${latest?.name ?? props.appId}` : 'Submit an app'}</h1>
      <p className="muted">
        As {props.publisher ?? 'your publisher'}. Everything here goes into the charter the vendor signs.
      </p>
      {result && (
        <section className="card" aria-labelledby="submitted-h">
          <h2 id="submitted-h">Submitted</h2>
          <p>
            Submission <code>{result.submission_id}</code> for app <code>{result.app_id}</code> is waiting for
            review. <a href="#/apps">See my apps</a>. The form below is ready for another app.
          </p>
          {result.binary && <BinaryChecks binary={result.binary} />}
        </section>
      )}
      <form onSubmit={submit} className="card grid-form">
        <Field label="App name">
          {(id) => <input id={id} required maxLength={200} value={form.name} onChange={set('name')} />}
        </Field>
        <Field label="Version" hint="As users see it, e.g. 2.1.0">
          {(id, d) => (
            <input
              id={id}
              aria-describedby={d}
              maxLength={64}
              value={form.version}
              onChange={set('version')}
            />
          )}
        </Field>
        <Field label="Scopes" hint="Comma-separated, e.g. orders:read, orders:write">
          {(id, d) => (
            <input id={id} aria-describedby={d} required value={form.scopes} onChange={set('scopes')} />
          )}
        </Field>
        <fieldset>
          <legend>Platforms</legend>
          <Field label="Web origins" hint="One per line, e.g. https://orders.example.com">
            {(id, d) => (
              <textarea
                id={id}
                aria-describedby={d}
                rows={2}
                value={form.webOrigins}
                onChange={set('webOrigins')}
              />
            )}
          </Field>
          <Field label="Android package" hint="e.g. com.example.orders">
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                value={form.androidPackage}
                onChange={set('androidPackage')}
              />
            )}
          </Field>
          <Field
            label="Android signing certificate SHA-256"
            hint="One per line; AB:CD:… as keytool prints it is fine"
          >
            {(id, d) => (
              <textarea
                id={id}
                aria-describedby={d}
                rows={2}
                value={form.androidCerts}
                onChange={set('androidCerts')}
              />
            )}
          </Field>
          <Field label="iOS team id" hint="Ten letters or digits">
            {(id, d) => (
              <input id={id} aria-describedby={d} value={form.iosTeamId} onChange={set('iosTeamId')} />
            )}
          </Field>
          <Field label="iOS bundle id">
            {(id) => <input id={id} value={form.iosBundleId} onChange={set('iosBundleId')} />}
          </Field>
          <div className="check">
            <input
              id="server-platform"
              type="checkbox"
              checked={form.server}
              onChange={(e) => setForm((f) => ({ ...f, server: e.target.checked }))}
            />
            <label htmlFor="server-platform">Our backend server calls the API</label>
          </div>
        </fieldset>
        <Field label="Attestation (Android and iOS)">
          {(id) => (
            <select id={id} value={form.attestation} onChange={set('attestation')}>
              <option value="required">required (hardware attestation)</option>
              <option value="optional">optional</option>
            </select>
          )}
        </Field>
        <Field label="Notes for the reviewer">
          {(id) => <textarea id={id} rows={3} maxLength={4000} value={form.notes} onChange={set('notes')} />}
        </Field>
        <Field
          label="Binary (APK or IPA, optional)"
          hint="Read to show reviewers what it says about itself; it is not stored"
        >
          {(id, d) => (
            <input
              id={id}
              ref={fileRef}
              aria-describedby={d}
              type="file"
              accept=".apk,.ipa,application/vnd.android.package-archive,application/octet-stream"
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            />
          )}
        </Field>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div>
          <button type="submit" disabled={busy}>
            {busy ? 'Submitting…' : 'Submit for review'}
          </button>
        </div>
      </form>
    </section>
  );
}
