/**
 * `charter gateway start --workers N`: N gateway processes behind one listener (node:cluster), so a
 * site's server uses every core. The supervisor (the process the operator started) forks the
 * workers, prints the one startup line once all are listening, serves the operations listener with
 * every worker's metrics summed, checkpoints the shared SQLite WAL, passes a license change made
 * through one worker to all of them, stops them all on SIGTERM/SIGINT and restarts one that crashed.
 * Each worker runs the ordinary `gateway start` path on the shared store: used proofs, nonces, App
 * Attest counters, rate counts, licenses and the audit chain are all in the one SQLite file (or in
 * PostgreSQL and Redis), whose statements are atomic across processes (docs/workers.md).
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { sumTrafficWindows, TrafficSeries, type TrafficWindow } from '@charter/console';
import { CharterError, type ErrorCode } from '@charter/core';
import type { createGatewayLogger, Gateway, GatewayStore } from '@charter/gateway';
import { startWorkersOperations, type WorkerMetrics } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import { type Flags, optionalFlag, UsageError } from '../command.ts';

type Logger = ReturnType<typeof createGatewayLogger>;

/** Names the worker (1…N) in its environment; present only in a worker. */
const WORKER_ID_ENV = 'CHARTER_WORKER_ID';
/**
 * Set for every worker but the first one started: the first installed `--license`, so the others
 * (and any restarted worker) run the store's license, which by then may be a newer one installed
 * while the gateway ran; installing the file's again would be a rollback and refused.
 */
const FROM_STORE_ENV = 'CHARTER_WORKER_LICENSE_FROM_STORE';
/** How long a stopping worker gets before it is killed (its own graceful close allows ten seconds). */
const STOP_GRACE_MS = 12_000;
/** How often the supervisor checkpoints the shared WAL. */
const CHECKPOINT_MS = 1000;
/** How long the supervisor waits for a worker's answer to a probe. */
const ASK_TIMEOUT_MS = 5000;

/** The `--workers` flag of `charter gateway start`. */
export const WORKERS_FLAG = {
  workers: {
    type: 'string',
    description: 'Gateway processes behind the one listener (default: the machine’s cores)',
    value: 'N',
  },
} as const;

/** The number of workers `flags` ask for: `--workers N` (1–1024), else the machine's cores. */
export function workersOf(flags: Flags): number {
  const text = optionalFlag(flags, 'workers');
  if (text === undefined) return availableParallelism();
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1 || n > 1024)
    throw new UsageError('--workers must be a whole number from 1 to 1024');
  return n;
}

/** What a worker tells the supervisor. */
type FromWorker =
  | { t: 'ready'; info: Record<string, unknown> }
  | { t: 'failed'; error: { code?: string; detail?: string; message: string; usage?: boolean } }
  | { t: 'license-changed' }
  | { t: 'answer'; n: number; value: unknown }
  | { t: 'gather'; n: number; now: number; minutes: number };

/** What a worker can be asked: its metrics, readiness, or traffic series (for the console's chart). */
type Question = { what: 'metrics' } | { what: 'ready' } | { what: 'traffic'; now: number; minutes: number };

/** What the supervisor tells a worker. */
type ToWorker =
  | ({ t: 'ask'; n: number } & Question)
  | { t: 'reload' }
  | { t: 'gathered'; n: number; value: TrafficWindow | undefined };

/** This process's side of the supervisor's channel; undefined unless this is a worker. */
export interface WorkerSide {
  id: number;
  /** Run the store's license instead of installing `--license` (see FROM_STORE_ENV). */
  licenseFromStore: boolean;
  /** Tell the supervisor this worker is listening (with what `gateway start` would print). */
  ready(info: Record<string, unknown>): void;
  /** Tell the supervisor why this worker could not start, then exit. */
  failed(e: unknown): Promise<never>;
  /** Answer the supervisor's probes for `gateway`, and reload when another worker changed the license. */
  serve(gateway: Gateway): void;
  /** Wrap `store` so that a license or revocation written through it is announced to every worker. */
  announcingChanges(store: GatewayStore): GatewayStore;
  /** The console chart's traffic: every worker's series summed by the supervisor. */
  traffic(now: number, minutes: number): Promise<TrafficWindow>;
}

function send(message: FromWorker, done?: () => void): void {
  process.send?.(message, undefined, undefined, () => done?.());
}

/** The state names whose change puts a different license or revocation list in force. */
const LICENSE_STATE = new Set(['revocation-update', 'local-revocations']);

/** This process's worker side, when the supervisor forked it. */
export function workerSide(): WorkerSide | undefined {
  const id = Number(process.env[WORKER_ID_ENV]);
  if (!cluster.isWorker || !Number.isInteger(id) || id < 1) return undefined;
  // The supervisor stops workers with SIGTERM and a terminal's Ctrl-C reaches every process of the
  // group: the first signal starts the graceful close (untilSignal), later ones must not cut it short.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  let gateway: Gateway | undefined;
  const series = new TrafficSeries();
  const gathers = new Map<number, (w: TrafficWindow | undefined) => void>();
  let gathered = 0;
  // The engine's own reload, before serve() wraps it: a reload the supervisor asked for announces nothing.
  let reloadQuietly: (() => Promise<boolean>) | undefined;
  process.on('message', (m: ToWorker) => {
    if (m.t === 'reload') void reloadQuietly?.();
    if (m.t === 'gathered') {
      gathers.get(m.n)?.(m.value);
      gathers.delete(m.n);
    }
    if (m.t !== 'ask') return;
    void (async () => {
      const g = gateway;
      let value: unknown;
      if (m.what === 'traffic') value = series.window(m.now, m.minutes);
      else if (!g) value = m.what === 'ready' ? { ok: false, reason: 'unavailable' } : [];
      else if (m.what === 'metrics') value = await g.metrics.registry.getMetricsAsJSON();
      else value = await g.ready();
      send({ t: 'answer', n: m.n, value });
    })();
  });
  return {
    id,
    licenseFromStore: process.env[FROM_STORE_ENV] === '1',
    ready: (info) => send({ t: 'ready', info }),
    failed: (e) =>
      new Promise<never>(() => {
        const error =
          e instanceof CharterError
            ? { code: e.code, detail: e.detail, message: e.message }
            : { message: e instanceof Error ? e.message : String(e), usage: e instanceof UsageError };
        send({ t: 'failed', error }, () => process.exit(1));
      }),
    serve(g) {
      gateway = g;
      g.onDecision((e) => series.record(e));
      // A license or revocation update the CLI wrote into the file is found by each worker's own poll,
      // at its own moment: the first worker that finds it has every other one reload now, so the
      // workers change over together instead of up to a poll apart.
      const reload = g.reloadLicense.bind(g);
      reloadQuietly = reload;
      g.reloadLicense = async () => {
        const changed = await reload();
        if (changed) send({ t: 'license-changed' });
        return changed;
      };
    },
    traffic: (now, minutes) =>
      new Promise((done) => {
        const n = ++gathered;
        gathers.set(n, (w) => done(w ?? series.window(now, minutes)));
        send({ t: 'gather', n, now, minutes });
      }),
    announcingChanges(store) {
      const changed = () => send({ t: 'license-changed' });
      const install = store.installLicense.bind(store);
      const cas = store.compareAndSetState.bind(store);
      store.installLicense = async (record) => {
        const outcome = await install(record);
        if (outcome === 'installed') changed();
        return outcome;
      };
      store.compareAndSetState = async (name, expected, value) => {
        const set = await cas(name, expected, value);
        if (set && LICENSE_STATE.has(name)) changed();
        return set;
      };
      return store;
    },
  };
}

/** Options of {@link superviseWorkers}. */
export interface SuperviseOptions {
  count: number;
  logger: Logger;
  /** The shared SQLite file, checkpointed here; undefined with PostgreSQL. */
  sqlitePath: string | undefined;
  /** Where to serve the summed metrics and the probes. */
  metricsListen: { host: string; port: number } | undefined;
  /** Resolves on SIGINT or SIGTERM; listening before anything is announced. */
  stopped: Promise<string>;
  /** Print the startup line (once every worker listens). */
  announce(info: Record<string, unknown>): void;
}

interface Slot {
  id: number;
  worker: Worker;
  startedAt: number;
  ready: boolean;
}

function errorOf(e: Extract<FromWorker, { t: 'failed' }>['error']): Error {
  if (e.code) return new CharterError(e.code as ErrorCode, e.detail ?? 'ERR_WORKER', e.message);
  if (e.usage) return new UsageError(e.message);
  return new Error(e.message);
}

/**
 * Run `count` workers until a signal; resolves to the startup information and the signal once they
 * all stopped. Rejects (with the worker's own error, e.g. `license_invalid`) when the first worker
 * cannot start, so a refused start reads as it does with one process.
 */
export async function superviseWorkers(
  o: SuperviseOptions,
): Promise<{ info: Record<string, unknown>; signal: string }> {
  const { logger } = o;
  // Workers' stdout is not the command's: the one startup line and the result come from here.
  cluster.setupPrimary({ stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const slots = new Map<number, Slot>();
  const asks = new Map<number, (value: unknown) => void>();
  let asked = 0;
  let stopping = false;
  const live = () => [...slots.values()].filter((s) => s.ready && !s.worker.isDead());

  const ask = <T>(slot: Slot, question: Question, fallback: T): Promise<T> =>
    new Promise((done) => {
      const n = ++asked;
      const timer = setTimeout(() => {
        asks.delete(n);
        done(fallback);
      }, ASK_TIMEOUT_MS);
      asks.set(n, (v) => {
        clearTimeout(timer);
        done(v as T);
      });
      slot.worker.send({ t: 'ask', n, ...question } satisfies ToWorker);
    });

  const broadcastReload = () => {
    for (const s of slots.values()) if (s.ready) s.worker.send({ t: 'reload' } satisfies ToWorker);
  };

  /** Fork worker `id`; resolves with its startup information, rejects with why it could not start. */
  let forks = 0;
  const fork = (id: number): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork({
        [WORKER_ID_ENV]: String(id),
        ...(forks++ > 0 ? { [FROM_STORE_ENV]: '1' } : {}),
      });
      const slot: Slot = { id, worker, startedAt: Date.now(), ready: false };
      slots.set(id, slot);
      worker.on('message', (m: FromWorker) => {
        if (m.t === 'ready') {
          slot.ready = true;
          resolve(m.info);
        } else if (m.t === 'failed') reject(errorOf(m.error));
        else if (m.t === 'license-changed') broadcastReload();
        else if (m.t === 'answer') asks.get(m.n)?.(m.value);
        else if (m.t === 'gather')
          void Promise.all(
            live().map((s) =>
              ask<TrafficWindow | undefined>(
                s,
                { what: 'traffic', now: m.now, minutes: m.minutes },
                undefined,
              ),
            ),
          ).then((all) => {
            const windows = all.filter((w): w is TrafficWindow => w !== undefined);
            worker.send({ t: 'gathered', n: m.n, value: sumTrafficWindows(windows) } satisfies ToWorker);
          });
      });
      worker.once('exit', (code, signal) => {
        if (slots.get(id) === slot) slots.delete(id);
        reject(new Error(`worker ${id} exited at start (${signal ?? code})`));
        if (stopping || !slot.ready) return;
        // A crashed worker is replaced; one that keeps crashing right after start waits a little.
        const quick = Date.now() - slot.startedAt < 5000;
        logger.error({ worker: id, pid: worker.process.pid, code, signal }, 'worker exited: restarting it');
        setTimeout(() => restart(id), quick ? 1000 : 0).unref();
      });
    });

  const restart = (id: number): void => {
    if (stopping || slots.has(id)) return;
    fork(id).then(
      () => logger.info({ worker: id, pid: slots.get(id)?.worker.process.pid }, 'worker restarted'),
      (e: Error) => {
        logger.error({ worker: id, reason: e.message }, 'worker could not restart: trying again');
        setTimeout(() => restart(id), 2000).unref();
      },
    );
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    const exits = [...slots.values()].map(
      (s) =>
        new Promise<void>((done) => {
          if (s.worker.isDead()) return done();
          const kill = setTimeout(() => s.worker.process.kill('SIGKILL'), STOP_GRACE_MS);
          s.worker.once('exit', () => {
            clearTimeout(kill);
            done();
          });
          s.worker.process.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
  };

  let info: Record<string, unknown>;
  try {
    // The first worker alone: it migrates the store, installs the license and builds the console app
    // once, and a refused start (a bad license) is its error, not N copies of it.
    info = await fork(1);
    await Promise.all(Array.from({ length: o.count - 1 }, (_, i) => fork(i + 2)));
  } catch (e) {
    await stopAll();
    throw e;
  }

  const checkpointer = o.sqlitePath ? new SqliteStore(o.sqlitePath, { sharedByWorkers: true }) : undefined;
  const checkpoints = setInterval(() => {
    try {
      checkpointer?.checkpoint();
    } catch (e) {
      logger.warn({ reason: e instanceof Error ? e.message : String(e) }, 'WAL checkpoint failed');
    }
  }, CHECKPOINT_MS);
  checkpoints.unref();
  let ops: { url: string; close(): Promise<void> } | undefined;
  try {
    if (o.metricsListen)
      ops = await startWorkersOperations(o.metricsListen, {
        metrics: () => Promise.all(live().map((s) => ask<WorkerMetrics>(s, { what: 'metrics' }, []))),
        ready: () =>
          Promise.all(live().map((s) => ask(s, { what: 'ready' }, { ok: false, reason: 'unavailable' }))),
      });
  } catch (e) {
    clearInterval(checkpoints);
    await checkpointer?.close();
    await stopAll();
    throw e;
  }
  const { metrics_url: _single, ...shown } = info;
  const announced = {
    ...shown,
    ...(ops ? { metrics_url: `${ops.url}/charter/metrics` } : {}),
    workers: o.count,
  };
  logger.info(
    { workers: o.count, pids: [...slots.values()].map((s) => s.worker.process.pid) },
    'gateway workers listening',
  );
  o.announce(announced);
  const signal = await o.stopped;
  logger.info({ signal }, 'stopping the workers');
  await stopAll();
  clearInterval(checkpoints);
  await ops?.close();
  await checkpointer?.close();
  return { info: announced, signal };
}
