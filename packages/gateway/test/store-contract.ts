/**
 * The behaviour every {@link GatewayStore} must have, as node:test tests registered against a store
 * factory: store-sqlite.test.ts and store-pg.test.ts run the same suite. "Two replicas" are two
 * stores opened on the same state (two SQLite handles on one file, two pools on one schema), racing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CharterError } from '@charter/core';
import {
  type AuditEvent,
  auditHash,
  type GatewayStore,
  type InstanceRecord,
  type LicenseRecord,
  verifyAuditChain,
} from '@charter/gateway';

/** Shared state for one test: open as many stores on it as the test needs, then clean up. */
export interface StoreHarness {
  /** A store on this test's state; each call is another "replica". */
  open(): Promise<GatewayStore>;
  /** Close every store opened and remove the state. */
  cleanup(): Promise<void>;
}

/** Makes a fresh {@link StoreHarness} for each test. */
export type HarnessFactory = () => Promise<StoreHarness>;

const instance = (id: string, over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instance_id: id,
  app_id: 'app_beta',
  charter_id: 'chr_1',
  publisher_id: 'pub_beta',
  platform: 'ios',
  jkt: `jkt_${id}`,
  scopes: ['orders:read', 'orders:write'],
  attested: true,
  charter_exp: 2_000_000_000,
  created_at: 1_700_000_000,
  attestation_state: { key_id: 'a2V5', public_key: 'PEM', counter: 0 },
  ...over,
});

const license = (serial: number, over: Partial<LicenseRecord> = {}): LicenseRecord => ({
  serial,
  jti: `lic_${serial}`,
  site_id: 'site_a',
  exp: 2_000_000_000,
  token: `token-${serial}`,
  installed_at: 1_700_000_000,
  ...over,
});

/** Register the store contract under `label`. */
export function storeContract(label: string, factory: HarnessFactory): void {
  /** A test with its own harness, cleaned up whatever happens. */
  const it = (name: string, body: (h: StoreHarness) => Promise<void>) =>
    test(name, async () => {
      const h = await factory();
      try {
        await body(h);
      } finally {
        await h.cleanup();
      }
    });

  describe(`gateway store contract: ${label}`, () => {
    it('instances round-trip, and a second record under one id is refused', async (h) => {
      const s = await h.open();
      assert.equal(await s.getInstance('ins_1'), undefined);
      await s.putInstance(instance('ins_1'));
      const plain = instance('ins_2', { platform: 'server', attested: false, scopes: [] });
      delete plain.attestation_state;
      await s.putInstance(plain);
      assert.deepEqual(await s.getInstance('ins_1'), instance('ins_1'));
      assert.deepEqual(await s.getInstance('ins_2'), plain);
      await assert.rejects(s.putInstance(instance('ins_1')), (e: unknown) => {
        assert.ok(e instanceof CharterError);
        assert.equal(e.code, 'unavailable');
        return true;
      });
    });

    it('one key is one instance per app: registering it again refreshes the row, even when replicas race', async (h) => {
      const a = await h.open();
      const b = await h.open();
      const first = await a.registerInstance(
        instance('ins_1', {
          jkt: 'k1',
          charter: 'c.1',
          waived: ['attestation_required:ERR_X'],
          evidence: 'd1',
        }),
      );
      assert.equal(first.instance_id, 'ins_1');
      assert.deepEqual(first.waived, ['attestation_required:ERR_X']);
      // The same key again, under a new id and a new charter: the first row, refreshed in place.
      const again = await b.registerInstance(
        instance('ins_2', { jkt: 'k1', charter: 'c.2', charter_id: 'chr_2', created_at: 1_800_000_000 }),
      );
      assert.equal(again.instance_id, 'ins_1');
      assert.equal(again.charter, 'c.2');
      assert.equal(again.charter_id, 'chr_2');
      assert.equal(again.created_at, 1_700_000_000, 'registered when it first registered');
      assert.equal(again.waived, undefined, 'waivers replaced');
      assert.equal(again.evidence, undefined);
      assert.equal(await a.getInstance('ins_2'), undefined);
      assert.equal((await a.instanceByKey('app_beta', 'k1'))?.instance_id, 'ins_1');
      assert.equal(await a.instanceByKey('app_other', 'k1'), undefined);
      assert.deepEqual(await a.instanceIdsByKey('k1'), ['ins_1']);
      assert.deepEqual(await a.instanceIdsByKey('k_none'), []);
      // Another app with the same key is another instance.
      const other = await a.registerInstance(
        instance('ins_3', { jkt: 'k1', app_id: 'app_other', charter: 'c.3' }),
      );
      assert.equal(other.instance_id, 'ins_3');
      assert.deepEqual((await b.instanceIdsByKey('k1')).sort(), ['ins_1', 'ins_3']);
      // Racing replicas registering one new key end with one row.
      const raced = await Promise.all(
        Array.from({ length: 6 }, (_, k) =>
          (k % 2 ? a : b).registerInstance(instance(`ins_r${k}`, { jkt: 'k9', charter: 'c.9' })),
        ),
      );
      assert.equal(new Set(raced.map((r) => r.instance_id)).size, 1);
    });

    it('the App Attest counter only rises, and racing replicas admit one assertion per counter', async (h) => {
      const a = await h.open();
      const b = await h.open();
      await a.putInstance(instance('ins_1'));
      const plain = instance('ins_2');
      delete plain.attestation_state;
      await a.putInstance(plain);
      assert.equal(await a.advanceAttestationCounter('ins_1', 1), true);
      assert.equal(await b.advanceAttestationCounter('ins_1', 1), false, 'the same counter again');
      assert.equal(await b.advanceAttestationCounter('ins_1', 0), false, 'a lower counter');
      assert.equal(await a.advanceAttestationCounter('ins_2', 5), false, 'no attestation state');
      assert.equal(await a.advanceAttestationCounter('ins_nope', 5), false, 'no such instance');
      for (let counter = 2; counter < 7; counter++) {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, k) => (k % 2 ? a : b).advanceAttestationCounter('ins_1', counter)),
        );
        assert.equal(results.filter(Boolean).length, 1, `exactly one assertion with counter ${counter}`);
      }
      const state = (await b.getInstance('ins_1'))?.attestation_state;
      assert.deepEqual(state, { key_id: 'a2V5', public_key: 'PEM', counter: 6 });
    });

    it('a secret is created once: racing replicas both end with the first one written', async (h) => {
      const a = await h.open();
      const b = await h.open();
      const [x, y] = await Promise.all([
        a.secret('token-key', () => new Uint8Array([1, 1, 1])),
        b.secret('token-key', () => new Uint8Array([2, 2, 2])),
      ]);
      assert.deepEqual(x, y);
      let called = false;
      const again = await b.secret('token-key', () => {
        called = true;
        return new Uint8Array([3]);
      });
      assert.deepEqual(again, x);
      assert.equal(called, false, 'create() is not called when the secret exists');
      assert.deepEqual(await a.secret('other', () => new Uint8Array([9])), new Uint8Array([9]));
    });

    it('licenses keep a serial high-water mark', async (h) => {
      const s = await h.open();
      assert.equal(await s.currentLicense(), undefined);
      assert.equal(await s.installLicense(license(2)), 'installed');
      assert.equal(await s.installLicense(license(2)), 'already_installed');
      assert.equal(await s.installLicense(license(2, { jti: 'lic_other' })), 'serial_reused');
      assert.equal(await s.installLicense(license(1)), 'serial_below_installed');
      assert.equal(await s.installLicense(license(3, { site_id: 'site_b' })), 'other_site');
      assert.equal(await s.installLicense(license(5)), 'installed');
      assert.deepEqual(await s.currentLicense(), license(5));
    });

    it('racing installs of one serial: one is installed, the other is a reuse', async (h) => {
      const a = await h.open();
      const b = await h.open();
      await a.installLicense(license(1));
      const outcomes = await Promise.all([
        a.installLicense(license(7, { jti: 'lic_7a' })),
        b.installLicense(license(7, { jti: 'lic_7b' })),
      ]);
      assert.deepEqual([...outcomes].sort(), ['installed', 'serial_reused']);
      assert.equal((await b.currentLicense())?.serial, 7);
    });

    it('state is compare-and-set, across replicas', async (h) => {
      const a = await h.open();
      const b = await h.open();
      assert.equal(await a.getState('clock'), undefined);
      assert.equal(await a.compareAndSetState('clock', undefined, '1'), true);
      assert.equal(await b.compareAndSetState('clock', undefined, '2'), false, 'only if absent');
      assert.equal(await b.compareAndSetState('clock', '0', '2'), false, 'stale expectation');
      assert.equal(await b.compareAndSetState('clock', '1', '2'), true);
      assert.equal(await a.getState('clock'), '2');
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, k) => (k % 2 ? a : b).compareAndSetState('clock', '2', `v${k}`)),
      );
      assert.equal(results.filter(Boolean).length, 1, 'one writer wins a race');
    });

    it('counters add up across replicas and are taken atomically', async (h) => {
      const a = await h.open();
      const b = await h.open();
      await a.addCounters({ 'app_a admitted': 2, 'app_a denied rate_limited': 1, zero: 0 });
      await b.addCounters({ 'app_a admitted': 3 });
      assert.deepEqual(await a.takeCounters(), { 'app_a admitted': 5, 'app_a denied rate_limited': 1 });
      assert.deepEqual(await b.takeCounters(), {});
      // Adds racing with takes: nothing is lost or counted twice.
      let taken = 0;
      await Promise.all([
        ...Array.from({ length: 40 }, (_, k) => (k % 2 ? a : b).addCounters({ n: 1, m: 2 })),
        ...Array.from({ length: 5 }, async () => {
          const t = await a.takeCounters();
          taken += t.n ?? 0;
        }),
      ]);
      taken += (await b.takeCounters()).n ?? 0;
      assert.equal(taken, 40);
    });

    it('the audit log is one hash chain, also when replicas append at once', async (h) => {
      const a = await h.open();
      const b = await h.open();
      const first: AuditEvent = {
        at: 1_700_000_000,
        kind: 'refusal',
        endpoint: 'token',
        code: 'invalid_dpop_proof',
        detail: 'ERR_DPOP_REPLAY — é ✓ \u2028 "quoted" \\ back',
        app_id: 'app_beta',
      };
      const e1 = await a.appendAudit(first);
      assert.equal(e1.seq, 1);
      assert.equal(e1.prev, '');
      assert.equal(e1.entry, JSON.stringify({ seq: 1, ...first }));
      assert.equal(e1.hash, auditHash('', e1.entry));
      const e2 = await b.appendAudit({
        at: 1_700_000_001,
        kind: 'register',
        platform: 'ios',
        attested: true,
      });
      assert.equal(e2.seq, 2);
      assert.equal(e2.prev, e1.hash);
      await Promise.all(
        Array.from({ length: 60 }, (_, k) =>
          (k % 2 ? a : b).appendAudit({ at: 1_700_000_002 + k, kind: 'monitor', code: `c${k}` }),
        ),
      );
      const all = await a.auditEntries();
      assert.equal(all.length, 62);
      const chain = verifyAuditChain(all);
      assert.ok(chain.ok, JSON.stringify(chain));
      const tail = await b.auditEntries(60, 10);
      assert.deepEqual(
        tail.map((e) => e.seq),
        [61, 62],
      );
      assert.deepEqual(await b.auditEntries(0, 2), all.slice(0, 2));
      const from = all[59] as { seq: number; hash: string };
      assert.ok(verifyAuditChain(tail, from).ok, 'a run verifies from the entry before it');
    });
  });
}
