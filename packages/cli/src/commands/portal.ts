/** `charter vendor serve` (the vendor portal) and `charter vendor user add` (its accounts). */
import { Users } from '@charter/issuer';
import { startPortal } from '@charter/portal';
import { type CommandSpec, optionalFlag, requireFlag } from '../command.ts';
import { actorOf, attesterRecordsOf, openVendor } from '../context.ts';
import { passwordOf } from './password.ts';

export const vendorUserAdd: CommandSpec = {
  path: ['vendor', 'user', 'add'],
  summary: 'add a portal account: publisher, reviewer or admin',
  flags: {
    email: { type: 'string', description: 'the account’s email (its sign-in name)', value: 'E' },
    role: { type: 'string', description: 'publisher, reviewer or admin', value: 'ROLE' },
    publisher: {
      type: 'string',
      description: 'for a publisher account: the publisher it acts for',
      value: 'PUB_ID',
    },
  },
  help: 'The password comes from CHARTER_PASSWORD, else a prompt at a terminal (at least 12 characters).',
  async run({ flags, io }) {
    const email = requireFlag(flags, 'email');
    const role = requireFlag(flags, 'role');
    const vendor = openVendor(flags, io);
    vendor.vendorId();
    const password = await passwordOf(io, email);
    const r = await new Users(vendor.db).add({
      email,
      role,
      password,
      publisherId: optionalFlag(flags, 'publisher'),
      actor: actorOf(io).name,
    });
    return { json: r, text: `Account ${r.email} (${r.role}) added.` };
  },
};

export const vendorServe: CommandSpec = {
  path: ['vendor', 'serve'],
  summary: 'run the vendor portal (builds the web app on first start)',
  flags: {
    listen: { type: 'string', description: 'address to listen on, e.g. 127.0.0.1:8080', value: 'HOST:PORT' },
    'public-url': {
      type: 'string',
      description: 'the URL people use (behind a TLS proxy: https://… makes cookies Secure)',
      value: 'URL',
    },
    rebuild: { type: 'boolean', description: 'rebuild the web app even if it is already built' },
    'attester-db': {
      type: 'string',
      description:
        'the vendor attester’s records (sqlite:PATH or postgres://…; default HOME/attester.db when it exists): uploaded usage reports list admitted instances it never vouched for',
      value: 'URL',
    },
  },
  help: 'Runs until SIGINT or SIGTERM, then finishes requests in flight and exits 0. With --json it prints { url } when listening and { stopped } at exit.',
  async run({ flags, io }) {
    const listen = requireFlag(flags, 'listen');
    const vendor = openVendor(flags, io);
    vendor.vendorId();
    // Loaded here, not at the top: every other command starts without the web package.
    const { ensureBuilt } = await import('@charter/web');
    const staticDir = await ensureBuilt('portal', { force: flags.rebuild === true });
    const publicUrl = optionalFlag(flags, 'public-url');
    const records = attesterRecordsOf(flags, io);
    let portal: Awaited<ReturnType<typeof startPortal>>;
    try {
      portal = await startPortal({
        db: vendor,
        listen,
        staticDir,
        ...(publicUrl ? { publicUrl } : {}),
        ...(records ? { attester: records } : {}),
      });
    } catch (err) {
      await records?.close();
      throw err;
    }
    io.stdout.write(
      flags.json
        ? `${JSON.stringify({ url: portal.url })}\n`
        : `Vendor portal at ${portal.url} (Ctrl-C to stop)\n`,
    );
    const signal = await new Promise<string>((done) => {
      const on = (s: string) => () => done(s);
      process.once('SIGINT', on('SIGINT'));
      process.once('SIGTERM', on('SIGTERM'));
    });
    await portal.close();
    await records?.close();
    vendor.db.close();
    return { json: { url: portal.url, stopped: signal }, text: `Portal stopped (${signal}).` };
  },
};

/** The portal commands, in help order. */
export const portalCommands: CommandSpec[] = [vendorServe, vendorUserAdd];
