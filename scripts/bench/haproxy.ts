/**
 * The HAProxy peer of `npm run bench`: HAProxy 2.6's native `jwt_verify` doing what it can of a DPoP
 * admission. The access token: ES256 signature, `exp`, `aud`, scope. The proof: `typ`, `alg`, ES256
 * signature, `htm`, `htu`, `iat` within the skew, `ath` against the token, and the `jti` refused a
 * second time through a stick-table. HAProxy cannot take the key from the proof (`jwt_verify` needs
 * every key on disk at start), so it is given each instance's public key, chosen by the token's `sub`:
 * it verifies less than the gateway does (no `cnf.jkt` thumbprint, no instance row, no license).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The haproxy binary, or undefined when it is not installed. */
export function haproxyBinary(): string | undefined {
  for (const p of ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy']) {
    try {
      execFileSync(p, ['-v'], { stdio: 'ignore' });
      return p;
    } catch {}
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** What the HAProxy peer checks against. */
export interface HaproxySetup {
  dir: string;
  upstream: string;
  /** PEM of the authorization server's ES256 public key (the access tokens' signer). */
  asPem: string;
  /** Instance id (the token's `sub`) → PEM of its proof key. */
  instances: ReadonlyMap<string, string>;
  /** The `htu` every proof must carry. */
  htu: string;
  audience: string;
  skewS: number;
}

/** Start HAProxy pinned to `core`; resolves once it accepts connections. */
export async function startHaproxy(
  bin: string,
  setup: HaproxySetup,
  core: number,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const up = new URL(setup.upstream);
  writeFileSync(join(setup.dir, 'as.pem'), setup.asPem);
  const keyRules: string[] = [];
  for (const [id, pem] of setup.instances) {
    const file = join(setup.dir, `${id}.pem`);
    writeFileSync(file, pem);
    keyRules.push(
      `  http-request set-var(txn.pv) var(txn.p),jwt_verify(ES256,"${file}") if { var(txn.sub) -m str ${id} }`,
    );
  }
  const deny = 'http-request deny deny_status 401';
  const cfg = `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
backend proof_ids
  stick-table type string len 48 size 4m expire ${2 * setup.skewS + 1}s store gpc0
frontend api
  bind 127.0.0.1:${port}
  http-request set-var(txn.now) date()
  ${deny} unless { req.hdr(authorization) -m beg "DPoP " }
  http-request set-var(txn.at) req.hdr(authorization),word(2,' ')
  ${deny} unless { var(txn.at),jwt_header_query('$.alg') -m str ES256 }
  ${deny} unless { var(txn.at),jwt_verify(ES256,"${join(setup.dir, 'as.pem')}") -m int 1 }
  ${deny} unless { var(txn.at),jwt_payload_query('$.exp','int'),sub(txn.now) -m int gt 0 }
  ${deny} unless { var(txn.at),jwt_payload_query('$.aud') -m str ${setup.audience} }
  ${deny} unless { var(txn.at),jwt_payload_query('$.scope') -m sub orders:read }
  http-request set-var(txn.sub) var(txn.at),jwt_payload_query('$.sub')
  http-request set-var(txn.p) req.hdr(dpop)
  ${deny} unless { var(txn.p),jwt_header_query('$.typ') -m str dpop+jwt }
  ${deny} unless { var(txn.p),jwt_header_query('$.alg') -m str ES256 }
${keyRules.join('\n')}
  ${deny} unless { var(txn.pv) -m int 1 }
  ${deny} unless { var(txn.p),jwt_payload_query('$.htm') -m str GET }
  ${deny} unless { var(txn.p),jwt_payload_query('$.htu') -m str ${setup.htu} }
  ${deny} unless { var(txn.p),jwt_payload_query('$.iat','int'),sub(txn.now),add(${setup.skewS}) -m int 0:${2 * setup.skewS} }
  http-request set-var(txn.ath) var(txn.p),jwt_payload_query('$.ath')
  http-request set-var(txn.athc) var(txn.at),digest(sha256),ub64enc
  ${deny} unless { var(txn.athc),strcmp(txn.ath) -m int 0 }
  http-request set-var(txn.jti) var(txn.p),jwt_payload_query('$.jti')
  ${deny} unless { var(txn.jti) -m len 1:48 }
  http-request track-sc0 var(txn.jti) table proof_ids
  http-request sc-inc-gpc0(0)
  ${deny} if { sc0_get_gpc0 gt 1 }
  http-request del-header authorization
  http-request del-header dpop
  default_backend upstream
backend upstream
  server up ${up.hostname}:${up.port} maxconn 128
`;
  const file = join(setup.dir, 'haproxy.cfg');
  writeFileSync(file, cfg);
  execFileSync(bin, ['-c', '-q', '-f', file]);
  const child = spawn('taskset', ['-c', String(core), bin, '-db', '-f', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { child, url };
}
