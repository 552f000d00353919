/** `charter vendor attester serve`: the vendor's online attester (docs/vendor-attester.md). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '@charter/core';
import { openAttesterRecords, openVendorDb, startAttester, Vendor } from '@charter/issuer';
import { type CommandSpec, type Flags, type Io, listFlag, optionalFlag, UsageError } from '../command.ts';
import { actorOf, homeOf } from '../context.ts';

function listenOf(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError('--listen must be HOST:PORT, e.g. 0.0.0.0:8444');
  return { host: (m[1] ?? m[2]) as string, port };
}

function positiveInt(flags: Flags, name: string): number | undefined {
  const text = optionalFlag(flags, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000)
    throw new UsageError(`--${name} must be 1 to 1000000`);
  return n;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise((done) => {
    const finish = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      done(signal);
    };
    const onInt = () => finish('SIGINT');
    const onTerm = () => finish('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

/** The vendor of --home; the attester's --db is for its records, so the vendor's file is always vendor.db. */
function openHomeVendor(flags: Flags, io: Io): Vendor {
  return new Vendor(openVendorDb(join(homeOf(flags, io), 'vendor.db')), actorOf(io));
}

export const attesterServe: CommandSpec = {
  path: ['vendor', 'attester', 'serve'],
  summary: 'run the vendor’s online attester: device evidence in, short-lived attester tokens out',
  flags: {
    listen: { type: 'string', description: 'where to listen (port 0 picks a free port)', value: 'HOST:PORT' },
    'public-url': {
      type: 'string',
      description: 'the URL devices reach it at (proofs name it); default http://HOST:PORT',
      value: 'URL',
    },
    'token-ttl': {
      type: 'string',
      description: 'attester token lifetime (default 120s, at most 600s)',
      value: 'DURATION',
    },
    'rate-per-charter': {
      type: 'string',
      description: 'attestations per minute per charter (default 600)',
      value: 'N',
    },
    'rate-per-source': {
      type: 'string',
      description: 'requests per minute per source address (default 120)',
      value: 'N',
    },
    'android-root': {
      type: 'string',
      multiple: true,
      description: 'replace the bundled Google roots with this PEM (development and tests only)',
      value: 'FILE',
    },
    'apple-root': {
      type: 'string',
      multiple: true,
      description: 'replace the bundled Apple root with this PEM (development and tests only)',
      value: 'FILE',
    },
  },
  help:
    'Records (issued and refused, per site, app and instance key thumbprint) go to --db postgres://… when\n' +
    'given, else sqlite:HOME/attester.db. The vendor’s policy is read from HOME/vendor.db: each site’s\n' +
    'latest license, the revocations in force, and the active attester key (`vendor keys rotate --use attester`).',
  async run({ flags, io }) {
    const listen = listenOf(optionalFlag(flags, 'listen') ?? '127.0.0.1:8444');
    const ttlText = optionalFlag(flags, 'token-ttl');
    const tokenTtlS = ttlText === undefined ? undefined : parseDuration(ttlText);
    if (ttlText !== undefined && (tokenTtlS === undefined || tokenTtlS < 1 || tokenTtlS > 600))
      throw new UsageError('--token-ttl must be a duration from 1s to 600s');
    const vendor = openHomeVendor(flags, io);
    vendor.vendorId();
    const db = optionalFlag(flags, 'db');
    const records = openAttesterRecords(db, join(homeOf(flags, io), 'attester.db'));
    const pem = (files: string[]) => files.map((f) => readFileSync(f, 'utf8'));
    const androidRoots = listFlag(flags, 'android-root');
    const appleRoots = listFlag(flags, 'apple-root');
    const running = await startAttester({
      vendor,
      records,
      host: listen.host,
      port: listen.port,
      ...(optionalFlag(flags, 'public-url') ? { publicUrl: optionalFlag(flags, 'public-url') } : {}),
      ...(tokenTtlS !== undefined ? { tokenTtlS } : {}),
      ...(positiveInt(flags, 'rate-per-charter')
        ? { ratePerCharterPerMin: positiveInt(flags, 'rate-per-charter') }
        : {}),
      ...(positiveInt(flags, 'rate-per-source')
        ? { ratePerSourcePerMin: positiveInt(flags, 'rate-per-source') }
        : {}),
      ...(androidRoots.length > 0 ? { androidRoots: pem(androidRoots) } : {}),
      ...(appleRoots.length > 0 ? { appleRoots: pem(appleRoots) } : {}),
    });
    const info = {
      url: running.url,
      vendor_id: vendor.vendorId(),
      records: db?.startsWith('postgres') ? 'postgres' : 'sqlite',
    };
    io.stdout.write(
      flags.json ? `${JSON.stringify(info)}\n` : `charter vendor attester listening on ${running.url}\n`,
    );
    const signal = await untilSignal();
    await running.close();
    return { json: { ...info, stopped: signal }, text: `charter vendor attester stopped (${signal})` };
  },
};
