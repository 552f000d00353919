/**
 * The gateway's admin console on the command line: `charter gateway user add` (its operators) and
 * what `charter gateway start` needs to serve it (at /charter/admin on the main listener, or on
 * `--admin-listen HOST:PORT`).
 */
import {
  addOperator,
  type ConsoleOptions,
  charterConsole,
  hasOperators,
  type RunningConsole,
  startConsoleServer,
} from '@charter/console';
import type { createGatewayLogger, Gateway, GatewayStore } from '@charter/gateway';
import { openBackends } from '@charter/gateway/backends';
import type { GatewayPlugin } from '@charter/gateway/server';
import { type CommandSpec, type Flags, optionalFlag, requireFlag } from '../command.ts';
import { actorOf } from '../context.ts';
import { passwordOf } from './password.ts';

/** `charter gateway user add --home G --email E`. */
export const gatewayUserAdd: CommandSpec = {
  path: ['gateway', 'user', 'add'],
  summary: 'add an operator of the gateway admin console (/charter/admin)',
  flags: {
    email: { type: 'string', description: 'The operator’s email (its sign-in name)', value: 'E' },
    db: {
      type: 'string',
      description: 'sqlite:PATH or postgres://… instead of HOME/gateway.db',
      value: 'URL',
    },
  },
  help: 'The password comes from CHARTER_PASSWORD, else a prompt at a terminal (at least 12 characters).\nRunning gateways serve the console as soon as the first operator exists.',
  async run({ flags, io }) {
    const email = requireFlag(flags, 'email');
    const db = optionalFlag(flags, 'db');
    if (db === undefined) requireFlag(flags, 'home');
    const password = await passwordOf(io, email);
    const backends = await openBackends({ db, home: optionalFlag(flags, 'home') });
    try {
      const r = await addOperator(backends.store, { email, password, actor: actorOf(io).name });
      return { json: r, text: `Operator ${r.email} added: sign in at /charter/admin on the gateway.` };
    } finally {
      await backends.close();
    }
  },
};

/** The `--admin-listen` flag of `charter gateway start`. */
export const ADMIN_LISTEN_FLAG = {
  'admin-listen': {
    type: 'string',
    description: 'Serve the admin console on its own address instead of /charter/admin on --listen',
    value: 'HOST:PORT',
  },
} as const;

// A specifier esbuild does not follow: the sealed gateway bundle (`vendor seal-gateway`) must not pull
// in the web package's build path (Vite, a development dependency).
const WEB_PACKAGE = '@charter/web';

/**
 * The console's built web app, building it on first start (Vite is loaded only then); undefined where
 * the web package is absent (a sealed build), and the console then serves its API alone.
 */
async function consoleApp(logger: ReturnType<typeof createGatewayLogger>): Promise<string | undefined> {
  let web: typeof import('@charter/web');
  try {
    web = (await import(WEB_PACKAGE)) as typeof import('@charter/web');
  } catch {
    logger.warn('the admin console web app is not part of this build: /charter/admin serves its API only');
    return undefined;
  }
  try {
    return await web.ensureBuilt('console');
  } catch (e) {
    // The gateway matters more than its console: a failed build leaves the API, not a stopped site.
    logger.error(
      { reason: e instanceof Error ? e.message : String(e) },
      'the admin console web app could not be built: /charter/admin serves its API only',
    );
    return undefined;
  }
}

/** What `gateway start` does for the console: plugins for startGateway, then `started`, then `close`. */
export interface AdminConsole {
  plugins: GatewayPlugin[];
  started(gateway: Gateway): Promise<{ admin_url?: string }>;
  close(): Promise<void>;
}

/**
 * Prepare the console (building the web app on first start): mounted at /charter/admin on the main
 * listener, or on `--admin-listen`. Without an operator the mount answers 404 until one is added.
 */
export async function adminConsole(
  flags: Flags,
  store: GatewayStore,
  logger: ReturnType<typeof createGatewayLogger>,
  listenOf: (text: string) => { host: string; port: number },
  /** A worker's chart source: every worker's traffic, through the supervisor. */
  traffic?: ConsoleOptions['traffic'],
): Promise<AdminConsole> {
  const adminListen = optionalFlag(flags, 'admin-listen');
  const admin = adminListen === undefined ? undefined : listenOf(adminListen);
  const staticDir = await consoleApp(logger);
  if (!(await hasOperators(store)))
    logger.warn(
      'the admin console has no operator yet (it answers 404): run `charter gateway user add --home G --email E`',
    );
  let running: RunningConsole | undefined;
  return {
    plugins: admin
      ? []
      : [
          (app, gateway) =>
            app.register(charterConsole, {
              gateway,
              store,
              ...(staticDir ? { staticDir } : {}),
              ...(traffic ? { traffic } : {}),
            }) as unknown as Promise<void>,
        ],
    async started(gateway) {
      if (!admin) return { admin_url: `${gateway.base.href.replace(/\/$/, '')}/charter/admin/` };
      running = await startConsoleServer({
        gateway,
        host: admin.host,
        port: admin.port,
        ...(staticDir ? { staticDir } : {}),
        ...(traffic ? { traffic } : {}),
      });
      return { admin_url: running.url };
    },
    async close() {
      await running?.close();
    },
  };
}
