// The Charter web client: a real web app's admission, step by step, with @charter/client's browser
// bundle (served as /charter-client.js). Its instance key is non-extractable and lives in
// IndexedDB, so a reload keeps the same instance. `window.charterDemo` exposes the outcome to tests.
import {
  CharterError,
  createCharterClient,
  IndexedDbKeyStore,
  jwkThumbprint,
  publicJwkOf,
} from './charter-client.js';

const $ = (id) => document.getElementById(id);
const config = await (await fetch('/config.json', { cache: 'no-store' })).json();
const traffic = [];

document.title = config.title;
document.body.classList.add(config.role);
$('kind').textContent =
  config.role === 'clone' ? 'Clone page (copied charter, another origin)' : 'Approved web app';
$('title').textContent = config.title;
$('intro').textContent = config.intro;
$('origin').textContent = location.origin;
$('gateway').textContent = config.gateway;
$('origins').textContent = config.charterOrigins.join(', ');

/** fetch, watched: every exchange with the gateway goes into the table. */
async function watchedFetch(input, init) {
  const request = new Request(input, init);
  const url = new URL(request.url);
  const row = { method: request.method, path: url.pathname, status: undefined, error: undefined };
  traffic.push(row);
  try {
    const response = await fetch(request);
    row.status = response.status;
    if (!response.ok && /json/.test(response.headers.get('content-type') ?? '')) {
      row.error = (await response.clone().json()).error;
    }
    return response;
  } catch (e) {
    // The browser hides why; a refused CORS preflight is what this looks like from the page.
    row.error = 'blocked by the browser (CORS: the gateway did not allow this origin)';
    throw e;
  } finally {
    render();
  }
}

function render() {
  $('traffic').replaceChildren(
    ...traffic.map((t) => {
      const tr = document.createElement('tr');
      const req = document.createElement('td');
      req.textContent = `${t.method} ${t.path}`;
      const ans = document.createElement('td');
      ans.textContent =
        t.status === undefined ? (t.error ?? '…') : `${t.status}${t.error ? ` ${t.error}` : ''}`;
      ans.className = t.status !== undefined && t.status < 400 ? 'ok' : 'bad';
      tr.append(req, ans);
      return tr;
    }),
  );
}

function step(label) {
  const li = document.createElement('li');
  const mark = document.createElement('span');
  mark.className = 'mark';
  mark.textContent = '…';
  const text = document.createElement('span');
  text.textContent = label;
  const detail = document.createElement('span');
  detail.className = 'detail';
  li.append(mark, text, detail);
  $('steps').append(li);
  return {
    ok(info) {
      li.className = 'ok';
      mark.textContent = '✓';
      detail.textContent = info;
    },
    bad(info) {
      li.className = 'bad';
      mark.textContent = '✗';
      detail.textContent = info;
    },
  };
}

const why = (e) => (e instanceof CharterError ? `${e.code}: ${e.message}` : String(e));

async function run() {
  $('steps').replaceChildren();
  traffic.length = 0;
  render();
  const verdict = $('verdict');
  verdict.className = 'verdict pending';
  verdict.textContent = 'Working…';
  const result = { origin: location.origin, traffic };
  const keyStore = new IndexedDbKeyStore({ database: 'charter-demo' });
  const before = await keyStore.load();
  const client = createCharterClient({
    baseUrl: config.gateway,
    charter: config.charter,
    platform: 'web',
    keyStore,
    fetch: watchedFetch,
  });
  window.charterDemo.client = client;
  const s1 = step('Register this browser as an instance of the app');
  try {
    const record = await client.ensureRegistered();
    const stored = await keyStore.load();
    const key = stored.keyPair.privateKey;
    let exportable = true;
    try {
      await crypto.subtle.exportKey('pkcs8', key);
    } catch {
      exportable = false;
    }
    const jkt = await jwkThumbprint(
      publicJwkOf(await crypto.subtle.exportKey('jwk', stored.keyPair.publicKey)),
    );
    result.registration = {
      instance_id: record.instance_id,
      app_id: record.app_id,
      restored: before?.record?.instance_id === record.instance_id,
    };
    result.key = {
      extractable: key.extractable,
      exportable,
      algorithm: key.algorithm.name,
      jkt,
      matches: jkt === record.jkt,
      restored: before !== undefined,
    };
    s1.ok(
      `${result.registration.restored ? 'restored from IndexedDB' : 'registered'}: ${record.instance_id} · key ${jkt.slice(0, 12)}… (${key.algorithm.name}, non-extractable: ${!key.extractable && !exportable})`,
    );
  } catch (e) {
    result.registration = { error: e instanceof CharterError ? e.code : 'error', reason: why(e) };
    s1.bad(why(e));
  }
  if (!result.registration.error) {
    const s2 = step('Get a DPoP-bound access token');
    try {
      const token = await client.accessToken();
      result.token = { scope: token.scope, expires_in_s: Math.round((token.expires_at - Date.now()) / 1000) };
      s2.ok(`scope "${token.scope}", valid ${result.token.expires_in_s} s, bound to the instance key`);
    } catch (e) {
      result.token = { error: e instanceof CharterError ? e.code : 'error', reason: why(e) };
      s2.bad(why(e));
    }
  }
  if (result.token && !result.token.error) {
    const s3 = step('Call the API through the gateway: GET /orders');
    try {
      const res = await client.fetch(config.apiPath ?? '/orders');
      const body = await res.json();
      result.call = { status: res.status, body };
      (res.ok ? s3.ok : s3.bad)(`${res.status} ${JSON.stringify(body).slice(0, 160)}`);
    } catch (e) {
      result.call = { error: e instanceof CharterError ? e.code : 'error', reason: why(e) };
      s3.bad(why(e));
    }
  }
  const admitted = result.call?.status === 200;
  verdict.className = `verdict ${admitted ? 'ok' : 'bad'}`;
  const blocked = traffic.some((t) => t.status === undefined);
  verdict.textContent = admitted
    ? 'Admitted: the gateway let this app call the API.'
    : blocked
      ? 'Refused: the gateway’s CORS preflight does not allow this origin, so the browser blocked the call.'
      : `Refused: ${result.registration.error ? result.registration.reason : (result.token?.reason ?? result.call?.reason ?? 'the API refused')}`;
  result.admitted = admitted;
  window.charterDemo.result = result;
  return result;
}

window.charterDemo = { run, result: undefined, client: undefined };
window.charterDemo.done = run();
$('again').addEventListener('click', () => {
  window.charterDemo.done = run();
});
$('forget').addEventListener('click', async () => {
  await window.charterDemo.client?.reset();
  window.charterDemo.done = run();
});
