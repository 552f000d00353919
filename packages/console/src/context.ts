/**
 * What every console route works with: the engine (known only once `startGateway` created it), the
 * store's views (audit, accounts), the traffic series, the signed-in operator and the admin record.
 */
import { allowedOrigins as allowedOriginsOf, type LiveSession } from '@charter/accounts';
import { refuse, signedIn } from '@charter/accounts/fastify';
import type { Gateway, GatewayStore } from '@charter/gateway';
import type { FastifyRequest } from 'fastify';
import { AuditView } from './audit-view.ts';
import { auditAdmin, consoleAccounts, type Operator } from './operators.ts';
import type { ConsoleOptions } from './plugin.ts';
import { TrafficSeries, type TrafficWindow } from './traffic.ts';

/** A signed-in operator's session. */
export type OperatorSession = LiveSession<Operator>;

/** The store's views, rebuilt when the store changes (it cannot, today, but nothing relies on that). */
export interface StoreViews {
  store: GatewayStore;
  audit: AuditView;
  accounts: ReturnType<typeof consoleAccounts>;
}

/** The console's state, shared by its route files. */
export interface ConsoleContext {
  traffic: TrafficSeries;
  /** The traffic chart's window: this engine's series, or every worker's summed (ConsoleOptions.traffic). */
  trafficWindow(now: number, minutes: number): Promise<TrafficWindow>;
  /** The engine, or `unavailable` while the gateway is starting. */
  engine(): Gateway;
  /** The store and its views. */
  parts(): StoreViews;
  /** The views if any request built them yet (the error path must not create them). */
  views(): StoreViews | undefined;
  /** Whether the gateway is served over TLS. */
  secure(): boolean;
  /** The origins state-changing requests may come from. */
  origins(): Set<string>;
  /** The signed-in operator, or `unauthorized`. */
  operator(req: FastifyRequest): OperatorSession;
  /** Append an operator's action to the hash-chained audit log. */
  audit(s: OperatorSession, action: string, extra?: Parameters<typeof auditAdmin>[3]): Promise<void>;
}

/** The context for these options. */
export function consoleContext(options: ConsoleOptions): ConsoleContext {
  let gateway: Gateway | undefined;
  const traffic = new TrafficSeries();
  const attach = (g: Gateway): void => {
    gateway = g;
    if (!options.traffic) g.onDecision((e) => traffic.record(e));
  };
  if (options.gateway instanceof Promise) void options.gateway.then(attach);
  else attach(options.gateway);
  const engine = (): Gateway => gateway ?? refuse('unavailable', 'the gateway is starting');
  let views: StoreViews | undefined;
  const parts = (): StoreViews => {
    const store = options.store ?? engine().store;
    if (views?.store !== store)
      views = { store, audit: new AuditView(store), accounts: consoleAccounts(store) };
    return views;
  };
  let origins: Set<string> | undefined;
  return {
    traffic,
    trafficWindow: async (now, minutes) =>
      options.traffic ? options.traffic(now, minutes) : traffic.window(now, minutes),
    engine,
    parts,
    views: () => views,
    secure: () => (gateway?.base.href ?? '').startsWith('https:'),
    origins() {
      if (origins) return origins;
      const given = options.allowedOrigins;
      // A function is asked each time: a stand-alone server knows its port only after listening.
      if (typeof given === 'function') return new Set(given());
      if (given) {
        origins = new Set(given);
        return origins;
      }
      const base = new URL(engine().base.href);
      const port = Number(base.port || (base.protocol === 'https:' ? 443 : 80));
      const host = base.hostname.replace(/^\[|\]$/g, '');
      origins = allowedOriginsOf({ host, port, secure: base.protocol === 'https:' });
      origins.add(base.origin);
      return origins;
    },
    operator: (req) => signedIn<Operator>(req),
    audit: (s, action, extra = {}) => auditAdmin(parts().store, s.user.email, action, extra),
  };
}
