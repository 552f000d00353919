/** Property test of header hygiene: no spelling of a gateway header survives the proxy boundary. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  foldHeaderName,
  isCharterHeaderName,
  stripCharterHeaders,
  upstreamRequestHeaders,
} from '../src/forward-headers.ts';

const GATEWAY_NAMES = [
  'charter-scope',
  'charter-app-id',
  'charter-instance-id',
  'charter-monitor',
  'x-forwarded-for',
];

/** A spelling of `name`: each letter in either case, each `-` as `-`, `_` or `.`. */
const spelling = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .chain((upper) =>
      fc
        .array(fc.constantFrom('-', '_', '.'), { minLength: name.length, maxLength: name.length })
        .map((seps) =>
          [...name].map((ch, i) => (ch === '-' ? seps[i] : upper[i] ? ch.toUpperCase() : ch)).join(''),
        ),
    );

test('upstream headers: every spelling of a gateway header is dropped, the gateway’s own kept', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...GATEWAY_NAMES).chain(spelling),
      fc.string({ maxLength: 20 }),
      (name, value) => {
        assert.equal(foldHeaderName(name), foldHeaderName(name.toLowerCase().replace(/[_.]/g, '-')));
        const added = { 'charter-scope': 'orders:read' };
        const out = upstreamRequestHeaders(
          { [name.toLowerCase()]: value, other_header: 'kept' },
          added,
          '127.0.0.1',
        );
        for (const key of Object.keys(out)) {
          const f = foldHeaderName(key);
          if (f.startsWith('charter-')) assert.ok(key in added, `${key} went upstream`);
          if (f === 'x-forwarded-for') assert.equal(key, 'x-forwarded-for');
        }
        assert.equal(out['charter-scope'], 'orders:read');
        if (value !== '' && name.toLowerCase() === 'x-forwarded-for')
          assert.equal(out['x-forwarded-for'], `${value}, 127.0.0.1`);
        else assert.equal(out['x-forwarded-for'], '127.0.0.1');
        assert.equal(out.other_header, 'kept');
      },
    ),
    { numRuns: 2000 },
  );
});

test('library mode: stripCharterHeaders empties headers and rawHeaders of Charter spellings', () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...GATEWAY_NAMES.slice(0, 4)).chain(spelling), { maxLength: 6 }),
      (names) => {
        const headers: Record<string, string> = { accept: 'a' };
        const rawHeaders = ['Accept', 'a'];
        for (const n of names) {
          headers[n.toLowerCase()] = 'spoofed';
          rawHeaders.push(n, 'spoofed');
        }
        stripCharterHeaders({ headers, rawHeaders });
        assert.deepEqual(headers, { accept: 'a' });
        assert.deepEqual(rawHeaders, ['Accept', 'a']);
        for (const n of names) assert.ok(isCharterHeaderName(n));
      },
    ),
  );
});
