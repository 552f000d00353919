/** Traffic per app over time as a plain SVG line chart (no chart library), with a data table for screen readers. */
import { useId } from 'react';

/** One app's per-bucket counts. */
export interface AppSeries {
  app_id: string;
  admitted: number[];
  monitored: number[];
  refused: number[];
}

/** The window the API returns. */
export interface TrafficWindow {
  bucket_s: number;
  from: number;
  to: number;
  apps: AppSeries[];
}

const W = 720;
const H = 260;
const PAD = { left: 44, right: 12, top: 12, bottom: 30 };

const clock = (s: number): string =>
  new Date(s * 1000).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/** Lines per app: solid for requests let through (admitted and monitored), dashed for refused. */
export function TrafficChart(props: { data: TrafficWindow; title: string }) {
  const id = useId();
  const { data } = props;
  const n = Math.max(1, Math.round((data.to - data.from) / data.bucket_s));
  const through = (a: AppSeries) => a.admitted.map((v, i) => v + (a.monitored[i] ?? 0));
  const max = Math.max(1, ...data.apps.flatMap((a) => [...through(a), ...a.refused]));
  const x = (i: number) => PAD.left + ((W - PAD.left - PAD.right) * i) / Math.max(1, n - 1);
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max);
  const points = (values: number[]) =>
    values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const ticks = [0, Math.ceil(max / 2), max].filter((v, i, all) => all.indexOf(v) === i);
  const xTicks = [0, Math.floor((n - 1) / 2), n - 1];
  const sum = (v: number[]) => v.reduce((s, k) => s + k, 0);
  return (
    <figure className="chart line-chart">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-labelledby={`${id}-t`}
        preserveAspectRatio="xMinYMin meet"
      >
        <title id={`${id}-t`}>{props.title}</title>
        {ticks.map((t) => (
          <g key={`y${t}`}>
            <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} />
            <text className="tick" x={PAD.left - 6} y={y(t) + 4} textAnchor="end">
              {t}
            </text>
          </g>
        ))}
        <line className="axis" x1={PAD.left} x2={W - PAD.right} y1={H - PAD.bottom} y2={H - PAD.bottom} />
        {xTicks.map((i, k) => (
          <text
            key={`x${i}`}
            className="tick"
            x={x(i)}
            y={H - 8}
            textAnchor={k === 0 ? 'start' : k === 2 ? 'end' : 'middle'}
          >
            {clock(data.from + i * data.bucket_s)}
          </text>
        ))}
        {data.apps.map((a, k) => (
          <g key={a.app_id} data-app={a.app_id}>
            <polyline className={`series-${k % 6}`} points={points(through(a))} />
            {sum(a.refused) > 0 && (
              <polyline className={`series-${k % 6} refused`} points={points(a.refused)} />
            )}
          </g>
        ))}
      </svg>
      <figcaption>
        {props.title} — one point per {data.bucket_s / 60} minute; dashed: refused.
        <ul className="legend-list">
          {data.apps.map((a, k) => (
            <li key={a.app_id}>
              <span className={`swatch series-${k % 6}`} aria-hidden="true" />
              <code>{a.app_id}</code>: {sum(through(a))} let through, {sum(a.refused)} refused
            </li>
          ))}
        </ul>
      </figcaption>
      {/* Visually hidden in a clipping box: a table grows to its content whatever its own width. */}
      <div className="sr-only">
        <table>
          <caption>{props.title}, totals per app</caption>
          <thead>
            <tr>
              <th scope="col">App</th>
              <th scope="col">Admitted</th>
              <th scope="col">Monitored</th>
              <th scope="col">Refused</th>
              <th scope="col">Busiest minute</th>
            </tr>
          </thead>
          <tbody>
            {data.apps.map((a) => (
              <tr key={a.app_id}>
                <th scope="row">{a.app_id}</th>
                <td>{sum(a.admitted)}</td>
                <td>{sum(a.monitored)}</td>
                <td>{sum(a.refused)}</td>
                <td>{Math.max(0, ...through(a))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
