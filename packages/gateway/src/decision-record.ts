/**
 * The record every decision leaves: the duration and outcome metrics, the decision listeners (the
 * admin console's traffic chart), the usage counters of the vendor's report, the log line, and the
 * audit chain's rows (refusals sampled so a flood writes no row per request).
 */
import { CharterError, type LicenseMode } from '@charter/core';
import type { Logger } from 'pino';
import { AnonymousSampler, PROVEN_ROWS_BEFORE_SAMPLING } from './anonymous-audit.ts';
import { type DecisionNotes, FAIL_CLOSED } from './context.ts';
import type { DecisionListener } from './decisions.ts';
import type { Endpoint } from './gateway-options.ts';
import type { GatewayMetrics } from './metrics.ts';
import { type CharterRequest, pathOf } from './request.ts';
import type { GatewayStore } from './store.ts';
import { COUNTER, UsageCounters } from './usage.ts';

/** What the recorder needs from the engine around it. */
export interface DecisionRecorderParts {
  logger: Logger;
  metrics: GatewayMetrics;
  store: GatewayStore;
  mode: () => LicenseMode;
  now: () => number;
  /** The serial of the license in force, written on registration rows. */
  licenseSerial: () => number;
}

/** Runs decisions and records each one. */
export class DecisionRecorder {
  readonly usage = new UsageCounters();
  readonly #anonymous = new AnonymousSampler();
  /** Refusals of proven instances: a row each for the first ones, then sampled (anonymous-audit.ts). */
  readonly #proven = new AnonymousSampler(PROVEN_ROWS_BEFORE_SAMPLING);
  readonly #listeners = new Set<DecisionListener>();
  readonly #p: DecisionRecorderParts;

  constructor(parts: DecisionRecorderParts) {
    this.#p = parts;
  }

  /** Observe every decision; returns the unsubscribe function. */
  onDecision(listener: DecisionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Run one decision and record it, whatever its outcome; unexpected failures become `unavailable`. */
  async run<T>(
    endpoint: Endpoint,
    req: CharterRequest,
    op: (notes: DecisionNotes) => Promise<T>,
    notes: DecisionNotes = { monitored: [] },
  ): Promise<T> {
    const started = performance.now();
    let error: CharterError | undefined;
    try {
      return await op(notes);
    } catch (e) {
      error =
        e instanceof CharterError
          ? e
          : new CharterError('unavailable', 'ERR_INTERNAL', 'unexpected failure', { cause: e });
      if (!(e instanceof CharterError)) this.#p.logger.error({ err: e, endpoint }, 'unexpected failure');
      throw error;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      // A registration is acknowledged only with its audit entry, written before anything counts it:
      // one whose entry fails is recorded (metrics, usage, log) as the refusal its client gets.
      const unwritten =
        error === undefined && endpoint === 'register' ? await this.#auditRegistration(notes) : undefined;
      // Metrics, counters and the log line are synchronous; only an audit row is waited for, so an
      // admission that writes none costs no extra turn of the promise queue.
      const audit = this.#record(endpoint, req, notes, error ?? unwritten, seconds);
      if (audit) await audit;
      // biome-ignore lint/correctness/noUnsafeFinally: the unacknowledged registration's refusal replaces its answer
      if (unwritten) throw unwritten;
    }
  }

  /**
   * The `register` row of a registration that succeeded; the refusal to answer instead when it could
   * not be written: should the store go away between the instance's row and this one (a cut
   * connection, a failover), the client gets `unavailable` and registers again, so no instance it was
   * told of is missing from the chain. (The row written before stays, unknown to any client: its id
   * was never sent.)
   */
  async #auditRegistration(notes: DecisionNotes): Promise<CharterError | undefined> {
    try {
      await this.#p.store.appendAudit({
        at: this.#p.now(),
        kind: 'register',
        endpoint: 'register',
        ...idsOf(notes),
        license_serial: this.#p.licenseSerial(),
      });
      return undefined;
    } catch (e) {
      this.#p.logger.error(
        { reason: e instanceof Error ? e.message : String(e), instance_id: notes.instance_id },
        'registration refused: its audit entry was not written',
      );
      return new CharterError(
        'unavailable',
        'ERR_AUDIT_WRITE',
        'the audit entry of the registration was not written',
        { cause: e },
      );
    }
  }

  /** At shutdown: one audit row per kind of anonymous refusal that no sampled row stands for yet. */
  async writeAnonymousCounts(): Promise<void> {
    const at = this.#p.now();
    for (const [key, count] of [...this.#anonymous.drain(), ...this.#proven.drain()]) {
      const [kind, endpoint, code, app, instance] = key.split(' ') as [
        'refusal' | 'monitor',
        string,
        string,
        string,
        string | undefined,
      ];
      try {
        await this.#p.store.appendAudit({
          at,
          kind,
          endpoint,
          code,
          ...(app ? { app_id: app } : {}),
          ...(instance ? { instance_id: instance } : {}),
          count,
        });
      } catch (e) {
        this.#p.logger.error(
          { reason: e instanceof Error ? e.message : String(e) },
          'audit entry not written',
        );
      }
    }
  }

  /** Usage for reports: synchronous map updates only, flushed to the store by the timer. */
  #count(
    endpoint: Endpoint,
    notes: DecisionNotes,
    refused: CharterError | undefined,
    monitored: readonly CharterError[],
    outcome: string,
  ): void {
    const app = notes.app_id;
    const u = this.usage;
    if (endpoint === 'protected' && outcome !== 'refused' && app) u.add(COUNTER.admitted(app));
    for (const e of refused ? [refused, ...monitored] : monitored)
      u.add(app ? COUNTER.denied(app, e.code) : COUNTER.unknown(e.code));
    if (!refused && endpoint === 'register' && app && notes.instance_id) {
      u.add(COUNTER.instances(app));
      if (notes.attested !== true) u.add(COUNTER.unattested(app));
    }
    // Every instance registered or used (or refused) in the period goes in the report with its
    // evidence, so a row written into the store by hand reaches the vendor too.
    if (app && notes.instance_id && notes.charter_id && notes.instance_known)
      u.add(COUNTER.instance(notes.instance_id, app, notes.charter_id));
  }

  #record(
    endpoint: Endpoint,
    req: CharterRequest,
    notes: DecisionNotes,
    error: CharterError | undefined,
    seconds: number,
  ): Promise<void> | undefined {
    const { logger, metrics } = this.#p;
    const monitorPass =
      error !== undefined &&
      this.#p.mode() === 'monitor' &&
      endpoint === 'protected' &&
      !FAIL_CLOSED.has(error.code);
    const monitored = error && monitorPass ? [error] : notes.monitored;
    const outcome = error && !monitorPass ? 'refused' : monitored.length > 0 ? 'monitored' : 'admitted';
    const appLabel = notes.app_id ?? 'unknown';
    metrics.duration.observe({ endpoint }, seconds);
    metrics.admissions.inc({ app_id: appLabel, outcome });
    if (error && !monitorPass) metrics.refusals.inc({ app_id: appLabel, code: error.code });
    if (!error && endpoint === 'register') {
      metrics.registrations.inc({
        app_id: appLabel,
        platform: notes.platform ?? 'unknown',
        attested: String(notes.attested === true),
      });
    }
    for (const m of monitored) metrics.refusals.inc({ app_id: appLabel, code: m.code });
    if (this.#listeners.size > 0) {
      const event = {
        at: this.#p.now(),
        endpoint,
        app_id: notes.app_id,
        instance_id: notes.instance_id,
        outcome: outcome as 'admitted' | 'monitored' | 'refused',
        codes: [...(error && !monitorPass ? [error.code] : []), ...monitored.map((m) => m.code)],
      };
      for (const listener of this.#listeners) listener(event);
    }
    this.#count(endpoint, notes, error && !monitorPass ? error : undefined, monitored, outcome);

    const logged = logger.isLevelEnabled(outcome === 'admitted' ? 'info' : 'warn');
    // Nothing more for the audit chain: a decision with no refusal and nothing monitored (a
    // registration's own row was written before, by run).
    const audited = error !== undefined || monitored.length > 0;
    // The common case, an admission neither logged nor audited, builds nothing more.
    if (!logged && !audited) return undefined;
    const ids = idsOf(notes);
    // The line is built only when it will be written: a logger above `info` costs nothing per admission.
    if (logged) {
      const line = {
        endpoint,
        method: req.method,
        path: (pathOf(req.url) ?? '').slice(0, 256),
        outcome,
        ms: Math.round(seconds * 1e6) / 1e3,
        ...ids,
        ...(error && !monitorPass ? { code: error.code, detail: error.detail, reason: error.message } : {}),
        ...(monitored.length > 0
          ? { monitored: monitored.map((m) => ({ code: m.code, detail: m.detail, reason: m.message })) }
          : {}),
      };
      if (outcome === 'admitted') logger.info(line, 'admitted');
      else logger.warn(line, outcome);
    }
    if (!audited) return undefined;
    return this.#audit(endpoint, notes, ids, error, monitorPass, monitored);
  }

  async #audit(
    endpoint: Endpoint,
    notes: DecisionNotes,
    ids: Record<string, string | boolean>,
    error: CharterError | undefined,
    monitorPass: boolean,
    monitored: readonly CharterError[],
  ): Promise<void> {
    const { logger, store } = this.#p;
    const at = this.#p.now();
    try {
      // No proven instance (a charter is a public artifact, so a genuine one proves no caller):
      // counted above, sampled here, by app when a charter named one; a flood must not write a row
      // per request.
      // A proven instance's refusals get a row each up to a bound, then are sampled the same way.
      const anonymous = notes.instance_id === undefined;
      const rows = (kind: 'refusal' | 'monitor', code: string): number | undefined =>
        anonymous
          ? this.#anonymous.take(`${kind} ${endpoint} ${code} ${notes.app_id ?? ''}`)
          : this.#proven.take(`${kind} ${endpoint} ${code} ${notes.app_id ?? ''} ${notes.instance_id}`);
      const refusedRows = error && !monitorPass ? rows('refusal', error.code) : undefined;
      if (error && refusedRows !== undefined)
        await store.appendAudit({
          at,
          kind: 'refusal',
          endpoint,
          code: error.code,
          detail: error.detail,
          ...ids,
          ...(anonymous || refusedRows > 1 ? { count: refusedRows } : {}),
        });
      for (const m of monitored) {
        const count = rows('monitor', m.code);
        if (count === undefined) continue;
        await store.appendAudit({
          at,
          kind: 'monitor',
          endpoint,
          code: m.code,
          detail: m.detail,
          ...ids,
          ...(anonymous || count > 1 ? { count } : {}),
        });
      }
    } catch (e) {
      logger.error({ reason: e instanceof Error ? e.message : String(e) }, 'audit entry not written');
    }
  }
}

/** The ids a decision's log line and audit rows carry, those it has. */
function idsOf(notes: DecisionNotes): Record<string, string | boolean> {
  return {
    ...(notes.app_id ? { app_id: notes.app_id } : {}),
    ...(notes.publisher_id ? { publisher_id: notes.publisher_id } : {}),
    ...(notes.instance_id ? { instance_id: notes.instance_id } : {}),
    ...(notes.charter_id ? { charter_id: notes.charter_id } : {}),
    ...(notes.platform ? { platform: notes.platform, attested: notes.attested === true } : {}),
  };
}
