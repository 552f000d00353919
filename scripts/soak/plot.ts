/**
 * The soak's plot, an SVG written by hand (no plotting dependency): throughput, latency and memory
 * over time, one panel each, with the fault windows shaded across all three.
 */
import type { MemorySample } from './gateways.ts';
import { type FaultWindow, percentile } from './report.ts';
import type { Exchange } from './traffic.ts';

const W = 960;
const LEFT = 70;
const RIGHT = 20;
const PANEL = 190;
const GAP = 50;
const TOP = 40;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const FAULT_FILL: Record<string, string> = {
  kill9: '#f4a582',
  pg_cut: '#92c5de',
  clock_step: '#c2a5cf',
  redis_restart: '#fddbc7',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Series {
  name: string;
  /** One line per run of points (a restarted process starts a new one). */
  points: [number, number][][];
  color: string;
  dash?: boolean;
}

export function plotSvg(
  exchanges: Exchange[],
  windows: FaultWindow[],
  memory: MemorySample[],
  durationMs: number,
  revokedAt: number | undefined,
): string {
  const plotW = W - LEFT - RIGHT;
  const x = (t: number) => LEFT + (Math.min(Math.max(t, 0), durationMs) / durationMs) * plotW;
  const out: string[] = [];
  const H = TOP + 3 * PANEL + 2 * GAP + 60;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    // A title: what screen readers say, and what a browser shows as the tab's name.
    `<title>Charter soak: throughput, latency and memory over ${Math.round(durationMs / 1000)} s, fault windows shaded</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="20" font-size="14" font-weight="bold">Charter soak: ${Math.round(durationMs / 1000)} s, ${exchanges.length} requests</text>`,
  );

  const panel = (i: number, title: string, unit: string, series: Series[]) => {
    const top = TOP + i * (PANEL + GAP);
    const bottom = top + PANEL;
    const maxY = Math.max(1, ...series.flatMap((s) => s.points.flat().map((p) => p[1]))) * 1.1;
    const y = (v: number) => bottom - (v / maxY) * PANEL;
    for (const w of windows) {
      const x0 = x(w.start);
      const x1 = x(w.end);
      out.push(
        `<rect x="${x0.toFixed(1)}" y="${top}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${PANEL}" fill="${FAULT_FILL[w.fault] ?? '#eee'}" opacity="0.6"/>`,
      );
      if (i === 0)
        out.push(`<text x="${(x0 + 2).toFixed(1)}" y="${top + 12}" font-size="10">${esc(w.fault)}</text>`);
    }
    if (revokedAt !== undefined)
      out.push(
        `<line x1="${x(revokedAt)}" x2="${x(revokedAt)}" y1="${top}" y2="${bottom}" stroke="#555" stroke-dasharray="3,3"/>`,
        i === 0
          ? `<text x="${x(revokedAt) + 2}" y="${top + 24}" font-size="10">license 2 (revocation)</text>`
          : '',
      );
    out.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL}" fill="none" stroke="#333"/>`);
    out.push(`<text x="${LEFT}" y="${top - 6}" font-weight="bold">${esc(title)}</text>`);
    for (let k = 0; k <= 4; k++) {
      const v = (maxY / 4) * k;
      out.push(
        `<line x1="${LEFT - 4}" x2="${LEFT}" y1="${y(v)}" y2="${y(v)}" stroke="#333"/>`,
        `<text x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end">${v >= 10 ? Math.round(v) : v.toFixed(1)}</text>`,
      );
    }
    out.push(
      `<text x="14" y="${(top + bottom) / 2}" transform="rotate(-90 14 ${(top + bottom) / 2})" text-anchor="middle">${esc(unit)}</text>`,
    );
    for (let k = 0; k <= 10; k++) {
      const t = (durationMs / 10) * k;
      out.push(
        `<line x1="${x(t)}" x2="${x(t)}" y1="${bottom}" y2="${bottom + 4}" stroke="#333"/>`,
        `<text x="${x(t)}" y="${bottom + 15}" text-anchor="middle">${Math.round(t / 1000)} s</text>`,
      );
    }
    let legendX = LEFT + plotW;
    for (const s of [...series].reverse()) {
      if (s.points.every((run) => run.length === 0)) continue;
      const d = s.points
        .map((run) =>
          run.map((p, j) => `${j ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(''),
        )
        .join('');
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.3"${s.dash ? ' stroke-dasharray="4,3"' : ''}/>`,
      );
      legendX -= 8 + s.name.length * 6.2 + 18;
      out.push(
        `<line x1="${legendX}" x2="${legendX + 14}" y1="${top - 10}" y2="${top - 10}" stroke="${s.color}" stroke-width="2"${s.dash ? ' stroke-dasharray="4,3"' : ''}/>`,
        `<text x="${legendX + 17}" y="${top - 6}">${esc(s.name)}</text>`,
      );
    }
  };

  // Throughput per second: genuine admitted, genuine refused, attacks.
  const secs = Math.ceil(durationMs / 1000);
  const ok = new Array(secs).fill(0);
  const refused = new Array(secs).fill(0);
  const attacks = new Array(secs).fill(0);
  let admitted = 0;
  for (const e of exchanges) {
    const s = Math.min(secs - 1, Math.floor(e.t / 1000));
    if (s < 0) continue;
    if (e.role === 'attack') {
      attacks[s] += 1;
      if (e.kind !== 'challenge' && e.status >= 200 && e.status < 300) admitted += 1;
    } else if (e.role === 'genuine') (e.status >= 200 && e.status < 300 ? ok : refused)[s] += 1;
  }
  const perSec = (a: number[]): [number, number][][] => [a.map((v, s) => [s * 1000 + 500, v])];
  panel(0, 'Throughput', 'requests / s', [
    { name: 'genuine admitted', points: perSec(ok), color: COLORS[0] as string },
    { name: 'genuine refused', points: perSec(refused), color: COLORS[1] as string },
    { name: `attacks (${admitted} admitted)`, points: perSec(attacks), color: COLORS[4] as string },
  ]);

  // Latency of genuine requests, p50 and p99 per bucket.
  const bucket = Math.max(1000, Math.round(durationMs / 120 / 1000) * 1000);
  const lat = new Map<number, number[]>();
  for (const e of exchanges) {
    if (e.role !== 'genuine') continue;
    const b = Math.floor(e.t / bucket);
    if (!lat.has(b)) lat.set(b, []);
    lat.get(b)?.push(e.ms);
  }
  const p50: [number, number][] = [];
  const p99: [number, number][] = [];
  for (const [b, v] of [...lat].sort((a, c) => a[0] - c[0])) {
    v.sort((a, c) => a - c);
    p50.push([b * bucket + bucket / 2, percentile(v, 50) ?? 0]);
    p99.push([b * bucket + bucket / 2, percentile(v, 99) ?? 0]);
  }
  panel(1, `Latency of genuine requests (per ${bucket / 1000} s)`, 'ms', [
    { name: 'p50', points: [p50], color: COLORS[0] as string },
    { name: 'p99', points: [p99], color: COLORS[1] as string },
  ]);

  // Memory per gateway: one line per process, so a restarted replica starts a new one.
  const runs = (ms: MemorySample[]) => {
    const byPid = new Map<number, MemorySample[]>();
    for (const m of ms) byPid.set(m.pid, [...(byPid.get(m.pid) ?? []), m]);
    return [...byPid.values()];
  };
  const names = [...new Set(memory.map((m) => m.gateway))];
  const mem: Series[] = [];
  names.forEach((n, i) => {
    const ms = memory.filter((m) => m.gateway === n);
    mem.push({
      name: `${n} RSS`,
      points: runs(ms).map((run) => run.map((m) => [m.t, m.rss_mb])),
      color: COLORS[i % COLORS.length] as string,
    });
    mem.push({
      name: `${n} heap`,
      points: runs(ms).map((run) =>
        run.filter((m) => m.heap_mb !== undefined).map((m) => [m.t, m.heap_mb as number]),
      ),
      color: COLORS[i % COLORS.length] as string,
      dash: true,
    });
  });
  panel(2, 'Memory of each gateway process', 'MB', mem);
  out.push('</svg>');
  return out.join('\n');
}
