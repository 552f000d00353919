/**
 * The UI pieces both web apps (the vendor portal and the gateway console) share: the status line,
 * field wrappers, the hash route, a bar chart, tables and the sign-in form.
 */
import { createContext, type FormEvent, type ReactNode, useContext, useEffect, useId, useState } from 'react';
import { ApiError, api, messageOf } from './api.ts';

/** Announce a message to screen readers and show it (polite for success, assertive for errors). */
export type Announce = (text: string, kind?: 'ok' | 'error') => void;

/** The app's status announcer. */
export const StatusContext = createContext<Announce>(() => {});

/** The status announcer of the nearest provider. */
export function useAnnounce(): Announce {
  return useContext(StatusContext);
}

/** The `#/…` route of the page now, split into decoded parts. */
function routeParts(): string[] {
  return window.location.hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p.length > 0)
    .map(decodeURIComponent);
}

/** The current `#/…` route split into parts; updates on hashchange. */
export function useRoute(): string[] {
  const [parts, setParts] = useState(routeParts);
  useEffect(() => {
    const on = () => setParts(routeParts());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parts;
}

/** Go to a route. */
export function go(path: string): void {
  window.location.hash = `#/${path}`;
}

/** A labelled field: the label is tied to its control by id, with an optional hint. */
export function Field(props: {
  label: string;
  hint?: string;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const hintId = props.hint ? `${id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, hintId)}
      {props.hint && (
        <p className="hint" id={hintId}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

/** One bar group of a chart. */
export interface Bar {
  label: string;
  values: { name: string; value: number }[];
}

/** A horizontal grouped bar chart in plain SVG, with a data table for screen readers. */
export function BarChart(props: { title: string; bars: Bar[]; series: string[] }) {
  const id = useId();
  const max = Math.max(1, ...props.bars.flatMap((b) => b.values.map((v) => v.value)));
  const rowH = 24;
  const groupH = props.series.length * rowH + 14;
  const labelW = 170;
  const width = 600;
  const height = props.bars.length * groupH + 30;
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-labelledby={`${id}-t`}
        preserveAspectRatio="xMinYMin meet"
      >
        <title id={`${id}-t`}>{props.title}</title>
        {props.bars.map((b, i) => (
          <g key={b.label} transform={`translate(0 ${i * groupH + 6})`}>
            <text x={0} y={rowH - 4} className="chart-label">
              {b.label.length > 20 ? `${b.label.slice(0, 19)}…` : b.label}
            </text>
            {b.values.map((v, k) => {
              const w = Math.max(1, ((width - labelW - 70) * v.value) / max);
              return (
                <g key={v.name} transform={`translate(${labelW} ${k * rowH})`}>
                  <rect width={w} height={rowH - 4} className={`bar bar-${k}`} />
                  <text x={w + 6} y={rowH - 7} className="chart-value">
                    {v.value}
                  </text>
                </g>
              );
            })}
          </g>
        ))}
      </svg>
      <figcaption>
        {props.title}:{' '}
        {props.series.map((s, k) => (
          <span key={s} className="legend">
            <span className={`swatch bar-${k}`} aria-hidden="true" /> {s}
          </span>
        ))}
      </figcaption>
      <table className="sr-only">
        <caption>{props.title}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            {props.series.map((s) => (
              <th key={s} scope="col">
                {s}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.bars.map((b) => (
            <tr key={b.label}>
              <th scope="row">{b.label}</th>
              {b.values.map((v) => (
                <td key={v.name}>{v.value}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** A scrollable table with a header row: the markup every list in both apps shares. */
export function Table<T>(props: {
  head: readonly string[];
  rows: readonly T[];
  rowKey: (row: T) => string | number;
  row: (row: T) => ReactNode;
  rowClass?: (row: T) => string;
}) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            {props.head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr key={props.rowKey(r)} className={props.rowClass?.(r)}>
              {props.row(r)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The sign-in form both apps show: posts email and password to `endpoint`, reports wrong credentials plainly. */
export function SignInForm<S>(props: { endpoint: string; hint?: ReactNode; onSignedIn: (s: S) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      props.onSignedIn(await api.post<S>(props.endpoint, { email, password }));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Wrong email or password.' : messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      {props.hint && <p className="hint">{props.hint}</p>}
      <form onSubmit={submit}>
        <Field label="Email">
          {(id) => (
            <input
              id={id}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Password">
          {(id) => (
            <input
              id={id}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
