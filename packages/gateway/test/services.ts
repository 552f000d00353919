/**
 * Real services for the scale-out tests, never mocks: the PostgreSQL and Redis named by
 * CHARTER_TEST_PG and CHARTER_TEST_REDIS (suites skip, and say so, when unset), a fresh PostgreSQL
 * schema per test so runs never collide, and a redis-server of a test's own that it may stop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';

/** The PostgreSQL URL of the test database, if set. */
export const PG_URL = process.env.CHARTER_TEST_PG || undefined;
/** The Redis URL of the shared test Redis, if set. */
export const REDIS_URL = process.env.CHARTER_TEST_REDIS || undefined;
/** The skip messages. */
export const PG_SKIP = 'CHARTER_TEST_PG is not set: PostgreSQL suite skipped';
export const REDIS_SKIP = 'CHARTER_TEST_REDIS is not set: Redis suite skipped';

/** A schema name no other run uses. */
export function freshSchemaName(): string {
  return `charter_test_${randomBytes(6).toString('hex')}`;
}

/** Drop a test schema and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of the test's own, which the test may kill and start again: without persistence,
 * or with `dir` an append-only file fsynced at every write (what docs/scale-out.md asks of production).
 */
export class OwnRedis {
  readonly port: number;
  readonly #dir: string | undefined;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string | undefined) {
    this.port = port;
    this.#dir = dir;
  }

  /** Start one on a free port. */
  static async start(options: { dir?: string } = {}): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort(), options.dir);
    await r.start();
    return r;
  }

  /** The URL to reach it. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start (again) on the same port; resolves once it accepts connections. */
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        ...(this.#dir
          ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.#dir]
          : ['--appendonly', 'no']),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out.slice(-500)}`)));
    });
  }

  /** Stop it (SIGKILL: an outage, not a shutdown) and wait until it is gone. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

/**
 * A TCP relay in front of a real service (PostgreSQL here): `cut()` drops every connection and stops
 * listening, an outage as the gateway sees it; `restore()` listens again on the same port.
 */
export class TcpRelay {
  readonly port: number;
  readonly #target: { host: string; port: number };
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  private constructor(port: number, target: { host: string; port: number }) {
    this.port = port;
    this.#target = target;
  }

  /** Relay a free local port to `host:port`. */
  static async start(host: string, port: number): Promise<TcpRelay> {
    const relay = new TcpRelay(await freePort(), { host, port });
    await relay.restore();
    return relay;
  }

  /** Accept and relay connections (again). */
  async restore(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.#target.port, this.#target.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
  }

  /** Drop every connection and refuse new ones. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
