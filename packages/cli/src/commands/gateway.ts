/**
 * `charter gateway start` and `charter gateway license install` (SPEC.md §4): the on-prem gateway in
 * proxy mode, and installing a newer site license into a gateway home (running gateways on the same
 * home pick it up within a second).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isoOf, type LicenseMode, parseTrustFile, type VendorTrust } from '@charter/core';
import {
  createGatewayLogger,
  installLicense,
  parseRoutes,
  type RouteRule,
  SqliteStore,
  sealedTrust,
  startGateway,
} from '@charter/gateway';
import { type CommandSpec, type Flags, type Io, optionalFlag, requireFlag, UsageError } from '../command.ts';

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read the ${what} file ${path}`);
  }
}

/** The trust anchor: sealed into this build, or a development trust file (reported as unsealed). */
async function trustOf(flags: Flags): Promise<{ trust: VendorTrust; integrity: 'sealed' | 'unsealed' }> {
  const file = optionalFlag(flags, 'trust');
  if (file) return { trust: await parseTrustFile(await readText(file, 'trust')), integrity: 'unsealed' };
  const sealed = await sealedTrust();
  if (sealed) return { trust: sealed, integrity: 'sealed' };
  throw new UsageError(
    'this gateway build has no sealed trust anchor; pass --trust trust.json (from `charter vendor export-trust`)',
  );
}

/** The store: `--db sqlite:PATH`, else `HOME/gateway.db`. PostgreSQL is not supported yet. */
function storeOf(flags: Flags): SqliteStore {
  const db = optionalFlag(flags, 'db');
  if (db !== undefined) {
    if (!db.startsWith('sqlite:'))
      throw new UsageError(`--db ${db.split(':')[0]}: is not yet supported (use sqlite:PATH or --home)`);
    return new SqliteStore(resolve(db.slice('sqlite:'.length)));
  }
  return new SqliteStore(join(resolve(requireFlag(flags, 'home')), 'gateway.db'));
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
  summary: 'Run the admission gateway in front of an API server',
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
    db: { type: 'string', description: 'sqlite:PATH (postgres:// is not yet supported)', value: 'URL' },
    redis: { type: 'string', description: 'Shared cache for replicas (not yet supported)', value: 'URL' },
  },
  help:
    'Serves /.well-known/charter and /charter/v1/{challenge,register,token}; operations endpoints are\n' +
    '/charter/healthz, /charter/readyz and /charter/metrics (Prometheus). JSON logs go to stderr.\n' +
    'Refuses to start (exit 1, code on stderr) on a license it cannot verify, an expired one, or one\n' +
    'whose serial is below the highest installed here; --mode monitor over an enforce license is invalid_request.',
  async run({ flags, io }) {
    if (optionalFlag(flags, 'redis') !== undefined) throw new UsageError('--redis is not yet supported');
    const licenseFile = requireFlag(flags, 'license');
    const upstream = requireFlag(flags, 'upstream');
    const { host, port } = listenOf(requireFlag(flags, 'listen'));
    const localMode = modeOf(flags);
    const { trust, integrity } = await trustOf(flags);
    const routesFile = optionalFlag(flags, 'routes');
    const routes: RouteRule[] = routesFile ? parseRoutes(await readText(routesFile, 'routes')) : [];
    const license = await readText(licenseFile, 'license');
    const publicUrl = optionalFlag(flags, 'public-url');
    try {
      new URL(upstream);
      if (publicUrl) new URL(publicUrl);
    } catch {
      throw new UsageError('--upstream and --public-url must be URLs');
    }
    const store = storeOf(flags);
    const logger = createGatewayLogger({ level: io.env.CHARTER_LOG_LEVEL ?? 'info', to: 'stderr' });
    let running: Awaited<ReturnType<typeof startGateway>>;
    try {
      running = await startGateway({
        trust,
        integrity,
        store,
        license,
        upstream,
        host,
        port,
        routes,
        logger,
        ...(publicUrl ? { publicUrl } : {}),
        ...(localMode ? { localMode } : {}),
      });
    } catch (e) {
      await store.close();
      throw e;
    }
    const { gateway } = running;
    const info = {
      url: running.url,
      public_url: gateway.base.href,
      site_id: gateway.license.siteId,
      license_serial: gateway.license.serial,
      mode: gateway.mode,
      integrity,
    };
    announce(
      io,
      flags,
      info,
      `charter gateway listening on ${running.url} (site ${info.site_id}, license #${info.license_serial}, ${info.mode})`,
    );
    const signal = await untilSignal();
    logger.info({ signal }, 'shutting down');
    await running.close();
    await store.close();
    return { json: { ...info, stopped: signal }, text: `charter gateway stopped (${signal})` };
  },
};

/** `charter gateway license install FILE`. */
export const licenseInstall: CommandSpec = {
  path: ['gateway', 'license', 'install'],
  summary: 'Install a newer site license into a gateway home (running gateways pick it up)',
  positionals: [{ name: 'FILE', required: true, description: 'The .license file' }],
  flags: {
    trust: { type: 'string', description: 'Development trust file (vendor root keys)', value: 'FILE' },
    db: { type: 'string', description: 'sqlite:PATH instead of HOME/gateway.db', value: 'URL' },
  },
  async run({ flags, positionals }) {
    const file = positionals[0];
    if (!file) throw new UsageError('the license FILE is required');
    const { trust } = await trustOf(flags);
    const token = await readText(file, 'license');
    const store = storeOf(flags);
    try {
      const { license, outcome } = await installLicense(token, trust, store);
      const json = {
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
      await store.close();
    }
  },
};
