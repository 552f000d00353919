/**
 * A registration is acknowledged only with its audit entry. The one-minute soak of the clean-clone
 * CI run on 2026-12-04 found an acknowledged registration missing from the cluster's audit chain:
 * PostgreSQL was cut (through the soak's relay) after the instance's row was written and before its
 * audit row, the failed audit write was only logged, and the client had its 200. Here the store is a
 * real SQLite file whose audit writes fail on demand, as they did then, behind a real proxy-mode
 * gateway on loopback.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../src/entries/server.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import { type AuditEntry, type AuditEvent, verifyAuditChain } from '../src/index.ts';
import {
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeVendor,
  SpecClient,
  type TestVendor,
  tempDir,
} from './helpers.ts';

/** A real SQLite store whose audit appends fail while `cut` is set (the connection gone at that moment). */
class CutAuditStore extends SqliteStore {
  cut = false;
  override async appendAudit(event: AuditEvent): Promise<AuditEntry> {
    if (this.cut) throw new Error('Connection terminated unexpectedly');
    return super.appendAudit(event);
  }
}

let vendor: TestVendor;
let home: ReturnType<typeof tempDir>;
let store: CutAuditStore;
let gw: RunningGateway;
let charter: string;

before(async () => {
  vendor = await makeVendor();
  home = tempDir();
  charter = (await makeCharter(vendor, 'app_beta')).token;
  store = new CutAuditStore(join(home.dir, 'gateway.db'));
  gw = await startGateway({
    trust: vendor.trust,
    store,
    license: await makeLicense(vendor, 1),
    upstream: 'http://127.0.0.1:9',
    licensePollMs: 0,
  });
});
after(async () => {
  await gw.close();
  await store.close();
  home.remove();
});

async function registeredInChain(): Promise<Set<string>> {
  const entries = await store.auditEntries(0, 10_000);
  assert.equal(verifyAuditChain(entries).ok, true);
  const ids = new Set<string>();
  for (const e of entries) {
    const ev = JSON.parse(e.entry) as { kind?: string; instance_id?: string };
    if (ev.kind === 'register' && ev.instance_id) ids.add(ev.instance_id);
  }
  return ids;
}

/** The sum of a counter's values whose labels include `labels`. */
async function counted(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await gw.gateway.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, name);
  let sum = 0;
  for (const v of metric.values as { value: number; labels: Record<string, string | number> }[])
    if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
  return sum;
}

test('a registration whose audit entry cannot be written is not acknowledged', async () => {
  const registered = await counted('charter_registrations_total');
  const refused = await counted('charter_refusals_total', { code: 'unavailable' });
  store.cut = true;
  const c = new SpecClient(gw.url, await makeInstanceKey());
  const r = await c.register(charter);
  store.cut = false;
  assert.equal(r.status, 503, JSON.stringify(r.body));
  assert.equal(r.body.error, 'unavailable');
  assert.equal(r.body.instance_id, undefined);
  // Counted as the refusal its client got, not as a registration (it was counted as one before).
  assert.equal(await counted('charter_registrations_total'), registered);
  assert.equal(await counted('charter_refusals_total', { code: 'unavailable' }), refused + 1);
  const before = await counted('charter_registrations_total');
  // The client registers again once the store is back, and that one is in the chain.
  const again = await c.register(charter);
  assert.equal(again.status, 200, JSON.stringify(again.body));
  const id = again.body.instance_id as string;
  assert.ok((await registeredInChain()).has(id), 'the acknowledged registration is in the audit chain');
  assert.equal(await counted('charter_registrations_total'), before + 1);
});

test('every acknowledged registration is in the audit chain', async () => {
  const acknowledged: string[] = [];
  for (let i = 0; i < 5; i++) {
    const c = new SpecClient(gw.url, await makeInstanceKey(i % 2 ? 'EdDSA' : 'ES256'));
    const r = await c.register(charter);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    acknowledged.push(r.body.instance_id as string);
  }
  const inChain = await registeredInChain();
  for (const id of acknowledged) assert.ok(inChain.has(id), id);
});
