import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharterError, isErrorCode, PROTOCOL_ERRORS } from '@charter/core';
import fc from 'fast-check';
import {
  createCharterClient,
  type Endpoint,
  errorFromResponse,
  interpretResponse,
  isUseDpopNonce,
  MemoryKeyStore,
  wwwAuthenticateError,
} from '../src/index.ts';
import { readBodyText } from '../src/response.ts';

const CHARTER = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhIn0.c2ln';
const codes = Object.keys(PROTOCOL_ERRORS);

/** Header values a real HTTP stack can deliver (no CR, LF or NUL), sometimes shaped like the real thing. */
const headerValue = fc
  .oneof(
    fc.string({ maxLength: 80 }),
    fc.constantFrom(...codes).map((c) => `DPoP error="${c}"`),
    fc.constantFrom(...codes).map((c) => `Bearer realm="x", error=${c}`),
    fc.constant('DPoP error="'),
    fc.uuid(),
  )
  .filter((v) => {
    try {
      new Headers({ x: v });
      return true;
    } catch {
      return false;
    }
  });

const headers = fc
  .record(
    {
      'www-authenticate': headerValue,
      'dpop-nonce': headerValue,
      'content-type': fc.constantFrom('application/json', 'text/html', 'application/problem+json'),
      'content-length': fc.constantFrom('0', '10', '99999999', 'abc'),
    },
    { requiredKeys: [] },
  )
  .map((h) => new Headers(h));

/** Bodies: garbage text, arbitrary JSON, and near-misses of every documented shape. */
const body = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        error: fc.oneof(fc.constantFrom(...codes), fc.string(), fc.jsonValue()),
        error_description: fc.oneof(fc.string(), fc.jsonValue()),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        nonce: fc.oneof(fc.string(), fc.uuid(), fc.jsonValue()),
        expires_in: fc.oneof(fc.double(), fc.integer(), fc.jsonValue()),
        instance_id: fc.oneof(fc.string(), fc.jsonValue()),
        app_id: fc.oneof(fc.string(), fc.jsonValue()),
        scopes: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
        access_token: fc.oneof(fc.string(), fc.base64String(), fc.jsonValue()),
        token_type: fc.oneof(fc.constantFrom('DPoP', 'dpop', 'Bearer'), fc.jsonValue()),
        scope: fc.oneof(fc.string(), fc.jsonValue()),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);

const status = fc.oneof(
  fc.constantFrom(200, 201, 400, 401, 403, 429, 500, 502, 503),
  fc.integer({ min: 200, max: 599 }),
);
const endpoint = fc.constantFrom<Endpoint>('challenge', 'register', 'token');

function onlyCharterErrors(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof CharterError, `threw ${String(e)}`);
    assert.ok(isErrorCode(e.code));
  }
}

describe('parsing gateway responses never throws anything but CharterError', () => {
  it('interpretResponse: a typed success or a CharterError', () => {
    fc.assert(
      fc.property(endpoint, status, headers, body, (ep, st, h, text) => {
        onlyCharterErrors(() => {
          const r = interpretResponse(ep, st, h, text) as unknown as Record<string, unknown>;
          // What it returns is safe to use: token in a header, nonce in a JWT.
          if (ep === 'token') new Headers({ authorization: `DPoP ${String(r.access_token)}` });
          if (ep === 'challenge') assert.match(String(r.nonce), /^[\x21-\x7e]+$/);
          assert.ok(st >= 200 && st < 300);
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('errorFromResponse always yields a catalogued CharterError, and the header helpers never throw', () => {
    fc.assert(
      fc.property(status, headers, body, (st, h, text) => {
        const e = errorFromResponse(st, h, text);
        assert.ok(e instanceof CharterError && isErrorCode(e.code));
        assert.ok(!/[\x00-\x1f]/.test(e.message));
        assert.equal(typeof isUseDpopNonce(st, h, text), 'boolean');
        wwwAuthenticateError(h.get('www-authenticate'));
      }),
      { numRuns: 1000 },
    );
  });

  it('readBodyText caps the size and reports broken streams as CharterError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 1, max: 2000 }),
        async (bytes, limit) => {
          try {
            const text = await readBodyText(new Response(bytes), limit);
            assert.ok(bytes.length <= limit);
            assert.equal(typeof text, 'string');
          } catch (e) {
            assert.ok(e instanceof CharterError && e.code === 'unavailable');
            assert.ok(bytes.length > limit);
          }
        },
      ),
      { numRuns: 300 },
    );
    const broken = new ReadableStream({
      pull(controller) {
        controller.error(new Error('socket hang up'));
      },
    });
    await assert.rejects(readBodyText(new Response(broken)), CharterError);
    // React Native's fetch: no body stream, only text().
    const rn = (text: string) =>
      ({ body: null, headers: new Headers(), text: async () => text }) as unknown as Response;
    assert.equal(await readBodyText(rn('{"a":1}'), 10), '{"a":1}');
    await assert.rejects(readBodyText(rn('x'.repeat(11)), 10), CharterError);
  });

  it('a client against arbitrary responses resolves or rejects with CharterError only', async () => {
    const nullBody = new Set([204, 205, 304]);
    // Each call gets either the right answer for its endpoint or a random one, so the client gets
    // deep into the flow (retries, refusals after success) as well as failing early.
    const right: Record<string, string> = {
      challenge: JSON.stringify({ nonce: 'n1', expires_in: 60 }),
      register: JSON.stringify({ instance_id: 'i1', app_id: 'a1', scopes: ['s'] }),
      token: JSON.stringify({ access_token: 'tok', token_type: 'DPoP', expires_in: 60, scope: 's' }),
    };
    const refusal = fc.constantFrom(
      'use_dpop_nonce',
      'invalid_token',
      'instance_revoked',
      'insufficient_scope',
    );
    const answer = fc.oneof(
      { weight: 3, arbitrary: fc.constant('right' as const) },
      { weight: 1, arbitrary: fc.tuple(status, headers, body) },
      {
        weight: 1,
        arbitrary: fc.tuple(
          fc.constantFrom(400, 401, 403),
          headers,
          refusal.map((error) => JSON.stringify({ error })),
        ),
      },
    );
    let reached = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 8 }), async (answers) => {
        let i = 0;
        const client = createCharterClient({
          baseUrl: 'https://gw.example/',
          charter: CHARTER,
          platform: 'server',
          keyStore: new MemoryKeyStore(),
          fetch: async (input) => {
            const a = answers[i++ % answers.length]!;
            const url = input instanceof Request ? input.url : String(input);
            if (a === 'right') {
              const name = /charter\/v1\/(\w+)$/.exec(url)?.[1];
              return new Response(name ? right[name] : '{"ok":true}', {
                status: 200,
                headers: { 'content-type': 'application/json' },
              });
            }
            const [st, h, text] = a;
            h.delete('content-length'); // a lying length is the HTTP stack's problem, not the client's
            return new Response(nullBody.has(st) ? null : text, { status: st, headers: h });
          },
        });
        try {
          const res = await client.fetch('/orders');
          assert.ok(res instanceof Response);
          reached++;
        } catch (e) {
          assert.ok(e instanceof CharterError, `threw ${String(e)}`);
        }
      }),
      { numRuns: 1000 },
    );
    assert.ok(reached > 0, 'some runs got all the way through');
  });
});
