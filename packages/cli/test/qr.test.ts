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
