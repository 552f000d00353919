/**
 * `charter gateway start` and `charter gateway license install` (SPEC.md §4): the on-prem gateway in
 * proxy mode, and installing a newer site license into a gateway home (running gateways on the same
 * home pick it up within a second).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import {
  ARTIFACT_TYP,
  artifactTypOf,
  epochSeconds,
  isCanonicalOrigin,
  isoOf,
  type LicenseMode,
  parseTrustFile,
  type VendorTrust,
} from '@charter/core';
import {
  createActivation,
  createGatewayLogger,
  exportReport,
  installLicense,
  installRevocations,
  parseOAuthClients,
  parseRoutes,
  type RouteRule,
  sealedBuild,
} from '@charter/gateway';
import { type Backends, isDbUrl, isRedisUrl, openBackends, sqlitePathOf } from '@charter/gateway/backends';
import { startGateway } from '@charter/gateway/server';

import {
  type CommandSpec,
  type Flags,
  type Io,
  listFlag,
  optionalFlag,
  requireFlag,
  UsageError,
} from '../command.ts';
import { terminalQr } from '../qr.ts';
import { ADMIN_LISTEN_FLAG, type AdminConsole, adminConsole } from './console.ts';
import { superviseWorkers, WORKERS_FLAG, type WorkerSide, workerSide, workersOf } from './gateway-workers.ts';

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read the ${what} file ${path}`);
  }
}

/** The trust anchor: sealed into this build, or a development trust file (reported as unsealed). */
async function trustOf(
  flags: Flags,
): Promise<{ trust: VendorTrust; integrity: 'sealed' | 'unsealed'; reason?: string }> {
  const file = optionalFlag(flags, 'trust');
  if (file)
    return {
      trust: await parseTrustFile(await readText(file, 'trust')),
      integrity: 'unsealed',
      reason: 'the trust anchor came from --trust',
    };
  const sealed = await sealedBuild();
  if (sealed) return sealed;
  throw new UsageError(
    'this gateway build has no sealed trust anchor; pass --trust trust.json (from `charter vendor export-trust`)',
  );
}

/** This process's integrity, for what it signs: a sealed build that checks out, else unsealed. */
async function integrityOf(): Promise<'sealed' | 'unsealed'> {
  return (await sealedBuild())?.integrity ?? 'unsealed';
}

/**
 * The store and cache: `--db sqlite:PATH | postgres://…` (else `HOME/gateway.db`) and `--redis URL`
 * (else in-process). Construction lives in @charter/gateway's backends.ts.
 */
export async function backendsOf(
  flags: Flags,
  logger?: ReturnType<typeof createGatewayLogger>,
  workers?: boolean,
): Promise<Backends> {
  const db = optionalFlag(flags, 'db');
  const redis = optionalFlag(flags, 'redis');
  if (db !== undefined && !isDbUrl(db)) throw new UsageError('--db takes sqlite:PATH or postgres://…');
  if (redis !== undefined && !isRedisUrl(redis))
    throw new UsageError('--redis takes redis://… or rediss://…');
  if (db === undefined) requireFlag(flags, 'home');
  return openBackends({ db, redis, home: optionalFlag(flags, 'home'), logger, workers });
}

function listenOf(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError('--listen must be HOST:PORT, e.g. 127.0.0.1:8443');
  return { host: (m[1] ?? m[2]) as string, port };
}

function modeOf(flags: Flags): LicenseMode | undefined {
  const mode = optionalFlag(flags, 'mode');
  if (mode === undefined) return undefined;
  if (mode !== 'enforce' && mode !== 'monitor') throw new UsageError('--mode must be enforce or monitor');
  return mode;
}

/**
 * `--cors-origin`: a local list that can only narrow the license's web origins (`none` turns
 * cross-origin access off); undefined when not given.
 */
function corsOriginsOf(flags: Flags): string[] | undefined {
  const list = listFlag(flags, 'cors-origin');
  if (list.length === 0) return undefined;
  if (list.length === 1 && list[0] === 'none') return [];
  for (const o of list)
    if (!isCanonicalOrigin(o))
      throw new UsageError(
        `--cors-origin ${o} is not an origin as browsers send it (scheme://host[:port], lowercase, no path), or none`,
      );
  return list;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise((done) => {
    const onInt = () => finish('SIGINT');
    const onTerm = () => finish('SIGTERM');
    const finish = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      done(signal);
    };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

function announce(io: Io, flags: Flags, info: Record<string, unknown>, text: string): void {
  // Printed at start even under --json (as one JSON line), since callers need the URL while it runs.
  io.stdout.write(flags.json ? `${JSON.stringify(info)}\n` : `${text}\n`);
}

/** `charter gateway start`. */
export const gatewayStart: CommandSpec = {
  path: ['gateway', 'start'],
  summary: 'run the admission gateway in front of an API server',
  flags: {
    license: { type: 'string', description: 'The site license file to install and enforce', value: 'FILE' },
    upstream: {
      type: 'string',
      description: 'The API server admitted requests are forwarded to',
      value: 'URL',
    },
    listen: { type: 'string', description: 'Where to listen (port 0 picks a free port)', value: 'HOST:PORT' },
    trust: {
      type: 'string',
      description: 'Development trust file (vendor root keys); reported as unsealed',
      value: 'FILE',
    },
    routes: { type: 'string', description: 'Route scopes: [{ method, path, scope }]', value: 'FILE' },
    'public-url': {
      type: 'string',
      description: 'The URL clients use to reach the gateway (default http://LISTEN)',
      value: 'URL',
    },
    mode: {
      type: 'string',
      description: 'enforce, to tighten a monitor license (monitor can never loosen)',
      value: 'MODE',
    },
    db: {
      type: 'string',
      description: 'sqlite:PATH, or postgres://… shared by replicas (?schema=NAME)',
      value: 'URL',
    },
    redis: { type: 'string', description: 'redis://…: the cache shared by replicas', value: 'URL' },
    'metrics-listen': {
      type: 'string',
      description: 'Serve /charter/metrics (Prometheus) here; never on --listen',
      value: 'HOST:PORT',
    },
    'cors-origin': {
      type: 'string',
      multiple: true,
      description:
        'Narrow CORS to these of the license’s web origins (repeatable; none: no cross-origin access)',
      value: 'ORIGIN',
    },
    'require-token-nonce': {
      type: 'boolean',
      description: 'Token requests need a server nonce too (RFC 9449 §8); registration always does',
    },
    'oauth-clients': {
      type: 'string',
      description: 'Client attestations: { "<app id>": "<client id at your OAuth server>" }',
      value: 'FILE',
    },
    ...ADMIN_LISTEN_FLAG,
    ...WORKERS_FLAG,
  },
  help:
    'Runs N worker processes behind the one listener (--workers, default the machine’s cores; 1 runs\n' +
    'one process); they share the store, so a proof, nonce or rate count is the same at every worker.\n' +
    'Serves /.well-known/charter and /charter/v1/{challenge,register,token} and the probes\n' +
    '/charter/healthz and /charter/readyz. /charter/metrics (Prometheus) is served only with\n' +
    '--metrics-listen, on that address (bind it where only the scraper reaches). JSON logs go to stderr.\n' +
    'Refuses to start (exit 1, code on stderr) on a license it cannot verify, an expired one, or one\n' +
    'whose serial is below the highest installed here; --mode monitor over an enforce license is invalid_request.\n' +
    'CORS: browsers may call from the web origins the license lists for the apps it admits (from their\n' +
    'approved charters); --cors-origin can only narrow that set.',
  async run({ flags, io }) {
    const licenseFile = requireFlag(flags, 'license');
    const upstream = requireFlag(flags, 'upstream');
    const { host, port } = listenOf(requireFlag(flags, 'listen'));
    const localMode = modeOf(flags);
    const corsOrigins = corsOriginsOf(flags);
    const { trust, integrity, reason: unsealedBecause } = await trustOf(flags);
    const routesFile = optionalFlag(flags, 'routes');
    const routes: RouteRule[] = routesFile ? parseRoutes(await readText(routesFile, 'routes')) : [];
    const license = await readText(licenseFile, 'license');
    const oauthFile = optionalFlag(flags, 'oauth-clients');
    const oauthClients = oauthFile ? parseOAuthClients(await readText(oauthFile, 'OAuth client')) : undefined;
    const publicUrl = optionalFlag(flags, 'public-url');
    const metricsFlag = optionalFlag(flags, 'metrics-listen');
    const metricsListen = metricsFlag === undefined ? undefined : listenOf(metricsFlag);
    try {
      new URL(upstream);
      if (publicUrl) new URL(publicUrl);
    } catch {
      throw new UsageError('--upstream and --public-url must be URLs');
    }
    const worker = workerSide();
    const workers = worker ? 1 : workersOf(flags);
    const base = createGatewayLogger({ level: io.env.CHARTER_LOG_LEVEL ?? 'info', to: 'stderr' });
    // A worker's lines say which worker wrote them.
    const logger = worker ? base.child({ worker: worker.id }) : base;
    // Said once: by the one process, or by the supervisor of the workers.
    if (unsealedBecause && !worker)
      logger.warn({ integrity, reason: unsealedBecause }, 'this gateway runs unsealed');
    if (workers > 1) {
      const stopping = untilSignal();
      const { info, signal } = await superviseWorkers({
        count: workers,
        logger,
        sqlitePath: sqlitePathOf({ db: optionalFlag(flags, 'db'), home: optionalFlag(flags, 'home') }),
        metricsListen,
        stopped: stopping,
        announce: (shown) =>
          announce(
            io,
            flags,
            shown,
            `charter gateway listening on ${shown.url} (site ${shown.site_id}, license #${shown.license_serial}, ${shown.mode}, ${workers} workers)`,
          ),
      });
      return { json: { ...info, stopped: signal }, text: `charter gateway stopped (${signal})` };
    }
    if (worker) return runWorker(worker, () => serve());
    return serve();

    async function serve() {
      const backends = await backendsOf(flags, logger, worker !== undefined);
      if (worker) worker.announcingChanges(backends.store);
      let running: Awaited<ReturnType<typeof startGateway>>;
      let admin: AdminConsole;
      try {
        admin = await adminConsole(
          flags,
          backends.store,
          logger,
          listenOf,
          worker ? (now, minutes) => worker.traffic(now, minutes) : undefined,
        );
        running = await startGateway({
          plugins: admin.plugins,
          trust,
          integrity,
          store: backends.store,
          ...(backends.cache ? { cache: backends.cache } : {}),
          ...(worker?.licenseFromStore ? {} : { license }),
          upstream,
          host,
          port,
          routes,
          logger,
          ...(publicUrl ? { publicUrl } : {}),
          ...(localMode ? { localMode } : {}),
          // Workers' metrics are summed and served by their supervisor.
          ...(metricsListen && !worker ? { metricsListen } : {}),
          ...(corsOrigins ? { corsOrigins } : {}),
          ...(flags['require-token-nonce'] === true ? { requireTokenNonce: true } : {}),
          ...(oauthClients ? { oauthClients } : {}),
        });
      } catch (e) {
        await backends.close();
        throw e;
      }
      const { gateway } = running;
      const { admin_url } = await admin.started(gateway);
      // A license installed by another replica or `gateway license install` is in force at once here.
      backends.watchLicenses(() => void gateway.reloadLicense());
      const info = {
        url: running.url,
        public_url: gateway.base.href,
        site_id: gateway.license.siteId,
        license_serial: gateway.license.serial,
        mode: gateway.mode,
        integrity,
        admin_url,
        ...(running.metricsUrl ? { metrics_url: `${running.metricsUrl}/charter/metrics` } : {}),
      };
      // Listen for signals before announcing, so a supervisor that stops us right away is heard.
      const stopped = untilSignal();
      if (worker) {
        worker.serve(gateway);
        worker.ready(info);
      } else
        announce(
          io,
          flags,
          info,
          `charter gateway listening on ${running.url} (site ${info.site_id}, license #${info.license_serial}, ${info.mode})`,
        );
      const signal = await stopped;
      logger.info({ signal }, 'shutting down');
      // A graceful close gets ten seconds; a connection or store that never lets go must not keep a
      // stopped gateway alive (a supervisor's `kill` has to end it). Unref'd: it never delays an exit.
      setTimeout(() => {
        logger.error({ signal }, 'graceful shutdown took over 10 s: exiting');
        process.exit(1);
      }, 10_000).unref();
      await admin.close();
      await running.close();
      await backends.close();
      return { json: { ...info, stopped: signal }, text: `charter gateway stopped (${signal})` };
    }
  },
};

/** A worker's run: a failure before it listens goes to the supervisor, which reports it once. */
async function runWorker<T>(worker: WorkerSide, serve: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await serve();
  } catch (e) {
    return worker.failed(e);
  }
  // Stopped: the supervisor's channel must not keep the process alive (it would linger until the
  // executable's three-second backstop).
  process.channel?.unref();
  return result;
}

/** `charter gateway license install FILE`. */
export const licenseInstall: CommandSpec = {
  path: ['gateway', 'license', 'install'],
  summary:
    'install a newer site license or revocation update into a gateway home (running gateways pick it up)',
  positionals: [
    {
      name: 'FILE',
      required: true,
      description: 'The .license file, or a revocation update (charter-revocations+jwt)',
    },
  ],
  flags: {
    trust: { type: 'string', description: 'Development trust file (vendor root keys)', value: 'FILE' },
    db: {
      type: 'string',
      description: 'sqlite:PATH or postgres://… instead of HOME/gateway.db',
      value: 'URL',
    },
  },
  async run({ flags, positionals }) {
    const file = positionals[0];
    if (!file) throw new UsageError('the license FILE is required');
    const { trust } = await trustOf(flags);
    const token = await readText(file, 'license');
    const backends = await backendsOf(flags);
    try {
      // The file's own typ says which it is; each verifier still checks the typ it expects.
      if (artifactTypOf(token) === ARTIFACT_TYP.revocations) {
        const { update, outcome } = await installRevocations(token, trust, backends.store);
        const r = update.revoked;
        const json = {
          kind: 'revocations',
          revocations_id: update.claims.jti,
          site_id: update.siteId,
          serial: update.serial,
          license_serial: update.claims.license_serial,
          revoked: { charters: r.charters.size, apps: r.apps.size, instances: r.instances.size },
          installed: outcome === 'installed',
        };
        const text =
          outcome === 'installed'
            ? `installed revocation update #${update.serial} for site ${update.siteId} (${r.apps.size} app(s), ${r.charters.size} charter(s), ${r.instances.size} instance(s) revoked); in force at once`
            : `revocation update #${update.serial} is already installed`;
        return { json, text };
      }
      const { license, outcome } = await installLicense(token, trust, backends.store);
      const json = {
        kind: 'license',
        license_id: license.claims.jti,
        site_id: license.siteId,
        serial: license.serial,
        mode: license.mode,
        exp: isoOf(license.exp),
        installed: outcome === 'installed',
      };
      const text =
        outcome === 'installed'
          ? `installed license #${license.serial} for site ${license.siteId} (expires ${json.exp})`
          : `license #${license.serial} is already installed`;
      return { json, text };
    } finally {
      await backends.close();
    }
  },
};

/** `charter gateway activate --site SITE --out request.jwt` (SPEC.md §4). */
export const gatewayActivate: CommandSpec = {
  path: ['gateway', 'activate'],
  summary: 'write an activation request that asks the vendor to bind the site license to this installation',
  flags: {
    site: { type: 'string', description: 'The site id the vendor gave you', value: 'SITE_ID' },
    out: {
      type: 'string',
      description: 'Where to write the request (charter-activation+jwt)',
      value: 'FILE',
    },
    db: {
      type: 'string',
      description: 'sqlite:PATH or postgres://… instead of HOME/gateway.db',
      value: 'URL',
    },
  },
  help:
    'Creates the installation key in the gateway state on first use (it never leaves it). Send the file\n' +
    'to the vendor, who issues a license bound to it (`vendor license issue --activation FILE`). A bound\n' +
    'license runs only on this state: a wiped or different state must be activated again.',
  async run({ flags, io }) {
    const siteId = requireFlag(flags, 'site');
    const out = requireFlag(flags, 'out');
    const integrity = await integrityOf();
    const backends = await backendsOf(flags);
    try {
      const r = await createActivation(backends.store, { siteId, integrity, now: epochSeconds() });
      await writeFile(out, r.token, { mode: 0o644 });
      // The terminal's width when it is one; 120 columns otherwise (a file or a pipe).
      const qr = terminalQr(r.token, (io.stdout as { columns?: number }).columns ?? 120);
      const text = [
        `Activation request for site ${siteId} (installation ${r.jkt}, ${integrity}) written to ${out};`,
        `it is valid until ${isoOf(r.exp)}. Send it to the vendor.`,
        qr.ok
          ? `\nThe same request as a QR code (${qr.chars} characters):\n${qr.text}`
          : `(No QR code: ${qr.reason}; send the file.)`,
      ].join('\n');
      return { json: { jkt: r.jkt, site_id: siteId, exp: r.exp, integrity, file: out }, text };
    } finally {
      await backends.close();
    }
  },
};

/** `charter gateway report export --out FILE` (SPEC.md §2.3, §4). */
export const reportExport: CommandSpec = {
  path: ['gateway', 'report', 'export'],
  summary: 'write the next hash-chained usage report (charter-report+jwt) for the vendor',
  flags: {
    out: { type: 'string', description: 'Where to write the report', value: 'FILE' },
    db: {
      type: 'string',
      description: 'sqlite:PATH or postgres://… instead of HOME/gateway.db',
      value: 'URL',
    },
  },
  help:
    'Takes the usage counted since the last report (running gateways flush their counts every 5 s) and\n' +
    'links the report to the previous one. Send every report to the vendor, in any order.',
  async run({ flags }) {
    const out = requireFlag(flags, 'out');
    const integrity = await integrityOf();
    const backends = await backendsOf(flags);
    let written = false;
    try {
      const r = await exportReport(backends.store, { integrity, now: epochSeconds() }, async (report) => {
        await writeFile(out, report.token, { mode: 0o644 });
        written = true;
      });
      const c = r.claims;
      return {
        json: { seq: r.seq, site_id: c.site, period: c.period, integrity: c.integrity, file: out },
        text: `Usage report ${r.seq} for site ${c.site} (${isoOf(c.period.from)} to ${isoOf(c.period.to)}, ${c.integrity}) written to ${out}.`,
      };
    } catch (e) {
      if (written) await rm(out, { force: true });
      throw e;
    } finally {
      await backends.close();
    }
  },
};
