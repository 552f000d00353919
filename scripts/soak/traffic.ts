/**
 * The soak's load generator: genuine instances of the site's apps (web, server, Android and iOS
 * through the test PKIs) registering, refreshing tokens and calling, with about one request in ten
 * from an attacker drawn from the threat model (SPEC.md §1). Every exchange is recorded with who sent
 * it and what came back; nothing here decides whether an outcome was right (report.ts does).
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { thumbprint } from '@charter/core';
import { ath, type InstanceKeys, makeInstanceKey, makeProof } from '../../packages/gateway/test/helpers.ts';
import { type Answer, send } from './http.ts';
import { ANDROID_DIGEST, ANDROID_PACKAGE, IOS_BUNDLE, IOS_TEAM, type SoakSite, WEB_ORIGIN } from './site.ts';

export type TargetName = 'cluster' | 'embedded';
export type Platform = 'web' | 'server' | 'android' | 'ios';

/** Where requests go: `url` is dialled, `public` is what proofs name (the balancer's URL). */
export interface Target {
  name: TargetName;
  url: string;
  public: string;
}

/** One recorded exchange; times in ms since the start of the soak. */
export interface Exchange {
  t: number;
  ms: number;
  target: TargetName;
  /** genuine; attack; or a revoked instance's request while the new license propagates. */
  role: 'genuine' | 'attack' | 'propagation';
  /** register, challenge, token, call; or the attack's name. */
  kind: string;
  status: number;
  code: string;
}

/** A registration the gateway acknowledged (200 with an instance id). */
export interface Ack {
  t: number;
  target: TargetName;
  instance_id: string;
  platform: Platform;
}

const binding = (nonce: string, jkt: string) =>
  createHash('sha256').update(`${nonce}.${jkt}`, 'ascii').digest();
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

/** A genuine app instance. */
class Device {
  instanceId: string | undefined;
  token: string | undefined;
  tokenRefreshAt = 0;
  /** After a refused registration or token request, an app waits a second before trying again. */
  retryAt = 0;
  busy = false;
  ios: { pair: { publicKey: KeyObject; privateKey: KeyObject }; counter: number } | undefined;
  constructor(
    readonly target: Target,
    readonly platform: Platform,
    readonly key: InstanceKeys,
    readonly jkt: string,
    /** Revoked by license 2 once it is installed. */
    readonly victim = false,
  ) {}
}

/** A used proof and its request, kept for replay attacks. */
interface Used {
  target: Target;
  path: string;
  headers: Record<string, string>;
}

export interface TrafficOptions {
  site: SoakSite;
  targets: Record<TargetName, Target>;
  /** Devices per platform per target. */
  perPlatform: number;
  /** Concurrent request loops. */
  concurrency: number;
  attackShare: number;
  t0: number;
  stopAt: number;
  maxRequests: number;
}

/** The load generator. */
export class Traffic {
  readonly exchanges: Exchange[] = [];
  readonly acks: Ack[] = [];
  readonly #o: TrafficOptions;
  readonly #devices: Device[] = [];
  readonly #used: Used[] = [];
  /**
   * License 2 per target (ms since start): from when its install began (`from`) until it returned
   * plus the time a running gateway may take to pick it up (`until`), a revoked instance's requests
   * are neither genuine nor attacks but `propagation`; from `until` on they are attacks.
   */
  readonly revocation: Partial<Record<TargetName, { from: number; until: number }>> = {};
  static readonly PROPAGATION_MS = 2000;
  #stopped = false;

  constructor(o: TrafficOptions) {
    this.#o = { ...o };
  }

  get concurrency(): number {
    return this.#o.concurrency;
  }

  /** Start the soak's clock at `t0` (epoch ms), ending at `stopAt`; what prepare() sent is not counted. */
  rebase(t0: number, stopAt: number): void {
    for (const a of this.acks) a.t -= t0 - this.#o.t0;
    this.#o.t0 = t0;
    this.#o.stopAt = stopAt;
    this.exchanges.length = 0;
  }

  get victims(): { target: TargetName; instance_id: string | undefined }[] {
    return this.#devices
      .filter((d) => d.victim)
      .map((d) => ({ target: d.target.name, instance_id: d.instanceId }));
  }

  #now(): number {
    return Date.now() - this.#o.t0;
  }

  async #device(target: Target, platform: Platform, victim = false): Promise<Device> {
    const key = await makeInstanceKey('ES256');
    return new Device(target, platform, key, await thumbprint(key.jwk), victim);
  }

  /** Make the devices and register the victims (whose ids license 2 revokes). */
  async prepare(): Promise<void> {
    for (const target of Object.values(this.#o.targets)) {
      for (const platform of ['web', 'server', 'android', 'ios'] as const)
        for (let i = 0; i < this.#o.perPlatform; i++)
          this.#devices.push(await this.#device(target, platform));
      const victim = await this.#device(target, 'server', true);
      this.#devices.push(victim);
      for (let i = 0; i < 5 && !victim.instanceId; i++) await this.#register(victim);
      if (!victim.instanceId) throw new Error(`the victim could not register at ${target.name}`);
    }
  }

  #record(
    d: Device | undefined,
    target: Target,
    kind: string,
    a: Answer,
    startedAt: number,
    attack = false,
  ): void {
    let role: Exchange['role'] = attack ? 'attack' : 'genuine';
    const r = this.revocation[target.name];
    if (d?.victim && r && startedAt + a.ms >= r.from) {
      role = startedAt >= r.until ? 'attack' : 'propagation';
      if (role === 'attack' && kind !== 'challenge') kind = 'revoked_instance';
    }
    this.exchanges.push({
      t: startedAt,
      ms: Math.round(a.ms * 100) / 100,
      target: target.name,
      role,
      kind,
      status: a.status,
      code: a.code,
    });
  }

  async #post(target: Target, path: string, dpop: string, body: unknown, extra: Record<string, string> = {}) {
    return send(`${target.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', dpop, ...extra },
      body: JSON.stringify(body),
    });
  }

  async #challenge(d: Device | undefined, target: Target, attack = false): Promise<string | undefined> {
    const t = this.#now();
    const a = await send(`${target.url}/charter/v1/challenge`, { method: 'POST' });
    this.#record(d, target, 'challenge', a, t, attack);
    return a.status === 200 ? (a.body.nonce as string) : undefined;
  }

  #charterOf(p: Platform): string {
    const c = this.#o.site.charters;
    return p === 'web' ? c.web : p === 'server' ? c.server : c.mobile;
  }

  async #register(d: Device): Promise<void> {
    const target = d.target;
    const nonce = await this.#challenge(d, target);
    if (!nonce) return;
    let attestation: unknown;
    if (d.platform === 'android') {
      attestation = {
        fmt: 'android-key',
        x5c: this.#o.site.android.attest({
          publicKey: createPublicKey({ key: d.key.jwk as never, format: 'jwk' }),
          challenge: binding(nonce, d.jkt),
          packageName: ANDROID_PACKAGE,
          signingCertDigests: [ANDROID_DIGEST],
        }).x5c,
      };
    } else if (d.platform === 'ios') {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const att = this.#o.site.apple.attest({
        appId: `${IOS_TEAM}.${IOS_BUNDLE}`,
        clientDataHash: binding(nonce, d.jkt),
        keyPair: pair,
      });
      d.ios = { pair, counter: 0 };
      attestation = { fmt: 'apple-appattest', key_id: att.keyIdB64, attestation: att.attestationB64 };
    }
    const htu = `${target.public}/charter/v1/register`;
    const t = this.#now();
    const a = await this.#post(
      target,
      '/charter/v1/register',
      await makeProof(d.key, { htm: 'POST', htu, nonce }),
      { charter: this.#charterOf(d.platform), platform: d.platform, ...(attestation ? { attestation } : {}) },
      d.platform === 'web' ? { origin: WEB_ORIGIN } : {},
    );
    this.#record(d, target, 'register', a, t);
    if (a.status === 200) {
      d.instanceId = a.body.instance_id as string;
      d.token = undefined;
      this.acks.push({ t, target: target.name, instance_id: d.instanceId, platform: d.platform });
    }
  }

  async #token(d: Device): Promise<void> {
    const target = d.target;
    const htu = `${target.public}/charter/v1/token`;
    let proof: string;
    const body: Record<string, unknown> = { instance_id: d.instanceId };
    if (d.platform === 'ios' && d.ios) {
      const nonce = await this.#challenge(d, target);
      if (!nonce) return;
      // The counter only goes up, even when the answer is lost: the device cannot know either way.
      d.ios.counter += 1;
      body.assertion = this.#o.site.apple.assert({
        privateKey: d.ios.pair.privateKey,
        appId: `${IOS_TEAM}.${IOS_BUNDLE}`,
        clientDataHash: binding(nonce, d.jkt),
        counter: d.ios.counter,
      }).assertionB64;
      proof = await makeProof(d.key, { htm: 'POST', htu, nonce });
    } else proof = await makeProof(d.key, { htm: 'POST', htu });
    const t = this.#now();
    const a = await this.#post(
      target,
      '/charter/v1/token',
      proof,
      body,
      d.platform === 'web' ? { origin: WEB_ORIGIN } : {},
    );
    this.#record(d, target, 'token', a, t);
    if (a.status === 200) {
      d.token = a.body.access_token as string;
      d.tokenRefreshAt = Date.now() + (Number(a.body.expires_in) * 1000) / 2;
    }
  }

  async #call(d: Device): Promise<void> {
    const target = d.target;
    const token = d.token as string;
    const write = Math.random() < 0.2;
    const path = write ? '/orders' : `/orders/${Math.floor(Math.random() * 1000)}`;
    const headers: Record<string, string> = {
      authorization: `DPoP ${token}`,
      dpop: await makeProof(d.key, {
        htm: write ? 'POST' : 'GET',
        htu: `${target.public}${path}`,
        ath: ath(token),
      }),
      ...(d.platform === 'web' ? { origin: WEB_ORIGIN } : {}),
      ...(write ? { 'content-type': 'application/json' } : {}),
    };
    const t = this.#now();
    const a = await send(`${target.url}${path}`, {
      method: write ? 'POST' : 'GET',
      headers,
      ...(write ? { body: JSON.stringify({ ward: 7, item: 'saline' }) } : {}),
    });
    this.#record(d, target, 'call', a, t);
    if (a.status === 200 && !write) {
      this.#used.push({ target, path, headers });
      if (this.#used.length > 200) this.#used.shift();
    }
    if (a.code === 'invalid_token') d.token = undefined;
  }

  /** One genuine step of one device: what it needs next. */
  async #genuine(target: TargetName): Promise<void> {
    const now = Date.now();
    const free = this.#devices.filter((d) => d.target.name === target && !d.busy && d.retryAt <= now);
    // Every app is busy or waiting to retry: pause rather than spin (the loop would starve the rest).
    if (free.length === 0) return void (await sleep(20));
    let d = pick(free);
    d.busy = true;
    try {
      // Churn: now and then an instance is replaced by a new install of the app.
      if (!d.victim && d.instanceId && Math.random() < 0.01) {
        const fresh = await this.#device(d.target, d.platform);
        fresh.busy = true;
        this.#devices[this.#devices.indexOf(d)] = fresh;
        d = fresh;
      }
      if (!d.instanceId) {
        await this.#register(d);
        if (!d.instanceId) d.retryAt = Date.now() + 1000;
      } else if (!d.token || Date.now() >= d.tokenRefreshAt || Math.random() < 0.03) {
        const before = d.token;
        await this.#token(d);
        if (d.token === before) d.retryAt = Date.now() + 1000;
      } else await this.#call(d);
    } finally {
      d.busy = false;
    }
  }

  /** One attack, at `target`. */
  async #attack(targetName: TargetName): Promise<void> {
    const target = this.#o.targets[targetName];
    const kinds = [
      'replay',
      'foreign_charter',
      'forged_charter',
      'unlicensed_app',
      'stolen_token',
      'edited_token',
      'wrong_origin',
      'garbage',
    ] as const;
    const kind = pick(kinds);
    const withToken = this.#devices.filter((d) => d.target === target && d.token && !d.victim);
    const t = this.#now();
    const record = (a: Answer, k: string = kind) => this.#record(undefined, target, k, a, t, true);
    const attacker = await makeInstanceKey('ES256');
    const register = async (charter: string, platform: Platform, origin?: string) => {
      const nonce = await this.#challenge(undefined, target, true);
      if (!nonce) return;
      const htu = `${target.public}/charter/v1/register`;
      const t2 = this.#now();
      const a = await this.#post(
        target,
        '/charter/v1/register',
        await makeProof(attacker, { htm: 'POST', htu, nonce }),
        { charter, platform },
        origin ? { origin } : {},
      );
      this.#record(undefined, target, kind, a, t2, true);
    };
    const callWith = async (token: string, key: InstanceKeys) => {
      const path = '/orders/1';
      const a = await send(`${target.url}${path}`, {
        headers: {
          authorization: `DPoP ${token}`,
          dpop: await makeProof(key, { htm: 'GET', htu: `${target.public}${path}`, ath: ath(token) }),
        },
      });
      record(a);
    };
    switch (kind) {
      case 'replay': {
        const mine = this.#used.filter((u) => u.target === target);
        const used = mine[Math.floor(Math.random() * mine.length)];
        if (!used) return this.#garbage(target, t);
        return record(await send(`${target.url}${used.path}`, { headers: used.headers }));
      }
      case 'foreign_charter':
        return register(this.#o.site.charters.foreign, 'server');
      case 'forged_charter': {
        // The vendor's signature over other claims: more scopes, a longer life.
        const [h, p, s] = this.#o.site.charters.server.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
        claims.scopes = [...claims.scopes, 'orders:admin'];
        claims.exp += 365 * 86400;
        return register(`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`, 'server');
      }
      case 'unlicensed_app':
        return register(this.#o.site.charters.unlicensed, 'server');
      case 'wrong_origin':
        return register(this.#o.site.charters.web, 'web', 'https://evil.example');
      case 'stolen_token': {
        const victim = withToken[Math.floor(Math.random() * withToken.length)];
        if (!victim?.token) return this.#garbage(target, t);
        return callWith(victim.token, attacker);
      }
      case 'edited_token': {
        const victim = withToken[Math.floor(Math.random() * withToken.length)];
        if (!victim?.token) return this.#garbage(target, t);
        const [h, p, s] = victim.token.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
        claims.scope = 'orders:read orders:write orders:admin';
        claims.exp = (claims.exp ?? 0) + 86400;
        // With the instance's own key: only the token's signature is wrong.
        return callWith(`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`, victim.key);
      }
      default:
        return this.#garbage(target, t);
    }
  }

  /** Garbage: random bytes where a token, a proof or a JSON body belongs. */
  async #garbage(target: Target, t: number): Promise<void> {
    const junk = () =>
      randomBytes(8 + Math.floor(Math.random() * 200)).toString(
        pick(['base64url', 'hex', 'latin1']) as BufferEncoding,
      );
    const variants = [
      () =>
        send(`${target.url}/orders/1`, {
          headers: {
            authorization: `DPoP ${junk().replace(/[^\x21-\x7e]/g, 'x')}`,
            dpop: junk().replace(/[^\x21-\x7e]/g, 'y'),
          },
        }),
      () =>
        send(`${target.url}/charter/v1/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', dpop: 'a.b.c' },
          body: junk(),
        }),
      () =>
        send(`${target.url}/charter/v1/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', dpop: junk().replace(/[^\x21-\x7e]/g, 'z') },
          body: JSON.stringify({ instance_id: junk() }),
        }),
      () =>
        send(`${target.url}/orders`, {
          method: 'POST',
          headers: { authorization: 'Bearer x' },
          body: junk(),
        }),
    ];
    this.#record(undefined, target, 'garbage', await pick(variants)(), t, true);
  }

  /** Run the loops until the deadline or the request bound. */
  async run(onTick?: () => void): Promise<void> {
    const loop = async () => {
      while (!this.#stopped && Date.now() < this.#o.stopAt && this.exchanges.length < this.#o.maxRequests) {
        const target: TargetName = Math.random() < 0.75 ? 'cluster' : 'embedded';
        try {
          if (Math.random() < this.#o.attackShare) await this.#attack(target);
          else await this.#genuine(target);
        } catch (e) {
          // A soak-side failure (not an answer from a gateway) must not end the loop silently.
          console.error(`load generator: ${e instanceof Error ? e.stack : e}`);
        }
        onTick?.();
      }
    };
    await Promise.all(Array.from({ length: this.#o.concurrency }, loop));
  }

  stop(): void {
    this.#stopped = true;
  }

  /** A genuine call outside the statistics (a fault's recovery probe), through `url` as `target` names it. */
  async probe(target: Target, url: string): Promise<boolean> {
    const d = this.#probes.get(target.name) ?? (await this.#device(target, 'server'));
    this.#probes.set(target.name, d);
    const via = { ...target, url };
    if (!d.instanceId || !d.token) {
      const nonce = (await send(`${url}/charter/v1/challenge`, { method: 'POST' })).body.nonce as
        | string
        | undefined;
      if (!nonce) return false;
      if (!d.instanceId) {
        const htu = `${target.public}/charter/v1/register`;
        const r = await this.#post(
          via,
          '/charter/v1/register',
          await makeProof(d.key, { htm: 'POST', htu, nonce }),
          {
            charter: this.#o.site.charters.server,
            platform: 'server',
          },
        );
        if (r.status !== 200) return false;
        d.instanceId = r.body.instance_id as string;
      }
      const htu = `${target.public}/charter/v1/token`;
      const r = await this.#post(via, '/charter/v1/token', await makeProof(d.key, { htm: 'POST', htu }), {
        instance_id: d.instanceId,
      });
      if (r.status !== 200) return false;
      d.token = r.body.access_token as string;
    }
    const path = '/orders/probe';
    const a = await send(`${url}${path}`, {
      headers: {
        authorization: `DPoP ${d.token}`,
        dpop: await makeProof(d.key, { htm: 'GET', htu: `${target.public}${path}`, ath: ath(d.token) }),
      },
    });
    if (a.code === 'invalid_token') d.token = undefined;
    return a.status === 200;
  }

  readonly #probes = new Map<TargetName, Device>();
}
