/** The terminal QR encoder: known format and version words, and every block's Reed–Solomon check. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataCodewords, encodeQr, formatBits, rsRemainder, terminalQr, versionBits } from '../src/qr.ts';

test('format and version information match the standard’s worked values', () => {
  assert.equal(formatBits('L', 0), 0b111011111000100);
  assert.equal(formatBits('M', 0), 0b101010000010010);
  assert.equal(versionBits(7), 0x07c94);
  assert.equal(dataCodewords(1, 'L'), 19);
  assert.equal(dataCodewords(40, 'L'), 2956);
});

test('Reed–Solomon remainder of the standard’s version 1-M example', () => {
  // ISO/IEC 18004 Annex I: "01234567" at 1-M.
  const data = [16, 32, 12, 86, 97, 128, 236, 17, 236, 17, 236, 17, 236, 17, 236, 17];
  assert.deepEqual(rsRemainder(data, 10), [165, 36, 212, 193, 237, 54, 199, 135, 44, 85]);
});

test('the smallest version is chosen, finder patterns sit in three corners, and long text is skipped', () => {
  const s = encodeQr('charter', 'L');
  assert.equal(s?.version, 1);
  const m = s?.modules as boolean[][];
  for (const [x, y] of [
    [0, 0],
    [20, 0],
    [0, 20],
  ] as const)
    assert.equal(m[y]?.[x], true);
  assert.equal(encodeQr('x'.repeat(700), 'L')?.version, 18); // 721 data codewords at 18-L
  assert.equal(encodeQr('x'.repeat(3000), 'L'), undefined);
  const narrow = terminalQr('x'.repeat(700), 80);
  assert.equal(narrow.ok, false);
  assert.match((narrow as { reason: string }).reason, /needs a 93-column QR code/);
  assert.equal(terminalQr('x'.repeat(700), 100).ok, true);
});

// An independent reader, written from ISO/IEC 18004 rather than from the encoder: it finds the
// function patterns, reads both copies of the format information (BCH-checked), unmasks the data
// region with the mask the format names and decodes the byte-mode segment. A symbol drawn with one
// mask and labelled with another, or masked wrongly anywhere, does not read back.
const MASK_RULES: ((x: number, y: number) => boolean)[] = [
  (x, y) => (x + y) % 2 === 0,
  (_x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];
const LEVEL_OF_BITS: Record<number, 'L' | 'M'> = { 1: 'L', 0: 'M' };
// Single-block symbols only (versions 1–5 at L, 1–3 at M): total and data codewords.
const LAYOUT: Record<string, { total: number; data: number }> = {
  '1L': { total: 26, data: 19 },
  '2L': { total: 44, data: 34 },
  '3L': { total: 70, data: 55 },
  '1M': { total: 26, data: 16 },
};
const ALIGN: Record<number, number[]> = { 1: [], 2: [6, 18], 3: [6, 22] };

/** The 15-bit format word for level bits and mask, per Annex C (BCH(15,5), XOR 0x5412). */
function formatWord(levelBits: number, mask: number): number {
  const data = (levelBits << 3) | mask;
  let rem = data << 10;
  for (let i = 14; i >= 10; i--) if ((rem >> i) & 1) rem ^= 0x537 << (i - 10);
  return ((data << 10) | rem) ^ 0x5412;
}

function readSymbol(m: boolean[][]): { level: 'L' | 'M'; mask: number; text: string; version: number } {
  const size = m.length;
  const version = (size - 17) / 4;
  const at = (x: number, y: number) => (m[y]?.[x] ? 1 : 0);
  // Format copy 1 around the top-left finder, copy 2 split under the top-right and beside the bottom-left.
  let a = 0;
  let b = 0;
  const bitsA: [number, number][] = [];
  for (let i = 0; i <= 5; i++) bitsA.push([8, i]);
  bitsA.push([8, 7], [8, 8], [7, 8]);
  for (let i = 9; i < 15; i++) bitsA.push([14 - i, 8]);
  const bitsB: [number, number][] = [];
  for (let i = 0; i < 8; i++) bitsB.push([size - 1 - i, 8]);
  for (let i = 8; i < 15; i++) bitsB.push([8, size - 15 + i]);
  bitsA.forEach(([x, y], i) => {
    a |= at(x, y) << i;
  });
  bitsB.forEach(([x, y], i) => {
    b |= at(x, y) << i;
  });
  assert.equal(a, b, 'both copies of the format information agree');
  assert.equal(at(8, size - 8), 1, 'the dark module is dark');
  let found: { level: 'L' | 'M'; mask: number } | undefined;
  for (const [bits, level] of Object.entries(LEVEL_OF_BITS))
    for (let mask = 0; mask < 8; mask++) if (formatWord(Number(bits), mask) === a) found = { level, mask };
  assert.ok(found, 'the format information is a valid BCH word for L or M');

  const isFunction = (x: number, y: number): boolean => {
    if ((x < 9 && y < 9) || (x >= size - 8 && y < 9) || (x < 9 && y >= size - 8)) return true; // finders, separators, format
    if (x === 6 || y === 6) return true; // timing
    const centres = ALIGN[version] ?? [];
    for (const cx of centres)
      for (const cy of centres) {
        if (
          (cx === 6 && cy === 6) ||
          (cx === 6 && cy === centres.at(-1)) ||
          (cy === 6 && cx === centres.at(-1))
        )
          continue;
        if (Math.abs(x - cx) <= 2 && Math.abs(y - cy) <= 2) return true;
      }
    return false;
  };
  const layout = LAYOUT[`${version}${found.level}`];
  assert.ok(layout, `the reader knows version ${version}-${found.level}`);
  const rule = MASK_RULES[found.mask] as (x: number, y: number) => boolean;
  const bits: number[] = [];
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    const upward = ((right + 1) & 2) === 0;
    for (let v = 0; v < size; v++)
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const y = upward ? size - 1 - v : v;
        if (!isFunction(x, y)) bits.push(at(x, y) ^ (rule(x, y) ? 1 : 0));
      }
  }
  const codewords: number[] = [];
  for (let i = 0; i + 8 <= layout.total * 8; i += 8)
    codewords.push(bits.slice(i, i + 8).reduce((n, bit) => (n << 1) | bit, 0));
  const data = codewords.slice(0, layout.data);
  assert.deepEqual(
    rsRemainder(data, layout.total - layout.data),
    codewords.slice(layout.data),
    'the check words match',
  );
  // Byte mode: 0100, an 8-bit count (versions 1–9), the bytes.
  const stream = data.flatMap((c) => [7, 6, 5, 4, 3, 2, 1, 0].map((k) => (c >> k) & 1));
  const take = (from: number, n: number) =>
    stream.slice(from, from + n).reduce((v, bit) => (v << 1) | bit, 0);
  assert.equal(take(0, 4), 0b0100, 'byte mode');
  const count = take(4, 8);
  const bytes = Array.from({ length: count }, (_, i) => take(12 + 8 * i, 8));
  return { ...found, version, text: Buffer.from(bytes).toString('utf8') };
}

test('symbols read back with an independent reader: format words, mask and data agree', () => {
  for (const [text, level] of [
    ['charter', 'L'],
    ['https://gateway.example/charter/admin', 'L'],
    ['x'.repeat(40), 'L'],
    ['vendor', 'M'],
  ] as const) {
    const s = encodeQr(text, level);
    assert.ok(s);
    const read = readSymbol(s.modules);
    assert.deepEqual(read, { level, mask: s.mask, text, version: s.version }, text);
  }
});
