/**
 * A small QR code encoder (ISO/IEC 18004, Model 2) for showing an activation request in a terminal:
 * byte mode, error correction L or M, the smallest version 1–40 that holds the text, the mask with the
 * lowest penalty. Written here rather than added as a dependency; it draws, it never parses input.
 */

/** Error correction levels supported: L (7 %) and M (15 %). */
export type QrLevel = 'L' | 'M';

/** An encoded symbol: `modules[y][x]` true for dark. */
export interface QrSymbol {
  version: number;
  level: QrLevel;
  mask: number;
  size: number;
  modules: boolean[][];
}

// Per version (index 0 unused): error correction codewords per block, and number of blocks.
const ECC_PER_BLOCK: Record<QrLevel, readonly number[]> = {
  L: [
    -1, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28,
    30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
  ],
  M: [
    -1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  ],
};
const BLOCKS: Record<QrLevel, readonly number[]> = {
  L: [
    -1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16,
    17, 18, 19, 19, 20, 21, 22, 24, 25,
  ],
  M: [
    -1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28,
    29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49,
  ],
};
const FORMAT_LEVEL_BITS: Record<QrLevel, number> = { L: 1, M: 0 };

/** Modules available for data and error correction in a version (everything but function patterns). */
export function rawDataModules(version: number): number {
  let n = (16 * version + 128) * version + 64;
  if (version >= 2) {
    const align = Math.floor(version / 7) + 2;
    n -= (25 * align - 10) * align - 55;
    if (version >= 7) n -= 36;
  }
  return n;
}

/** Data codewords of a version and level. */
export function dataCodewords(version: number, level: QrLevel): number {
  return (
    Math.floor(rawDataModules(version) / 8) -
    (ECC_PER_BLOCK[level][version] as number) * (BLOCKS[level][version] as number)
  );
}

function gfMul(x: number, y: number): number {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z & 0xff;
}

function rsDivisor(degree: number): number[] {
  const result = new Array<number>(degree).fill(0);
  result[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      result[j] = gfMul(result[j] as number, root);
      if (j + 1 < degree) result[j] = (result[j] as number) ^ (result[j + 1] as number);
    }
    root = gfMul(root, 0x02);
  }
  return result;
}

/** The Reed–Solomon remainder of `data` by the generator of `degree` (the error correction bytes). */
export function rsRemainder(data: readonly number[], degree: number): number[] {
  const divisor = rsDivisor(degree);
  const result = new Array<number>(degree).fill(0);
  for (const b of data) {
    const factor = b ^ (result.shift() as number);
    result.push(0);
    for (let i = 0; i < degree; i++) result[i] = (result[i] as number) ^ gfMul(divisor[i] as number, factor);
  }
  return result;
}

function alignmentPositions(version: number): number[] {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const step = version === 32 ? 26 : Math.ceil((version * 4 + 4) / (count * 2 - 2)) * 2;
  const out = [6];
  for (let pos = version * 4 + 10; out.length < count; pos -= step) out.splice(1, 0, pos);
  return out;
}

/** The 15 format bits (level and mask, BCH-protected, XOR-masked) as placed in the symbol. */
export function formatBits(level: QrLevel, mask: number): number {
  const data = (FORMAT_LEVEL_BITS[level] << 3) | mask;
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  return ((data << 10) | rem) ^ 0x5412;
}

/** The 18 version bits (versions 7 and up). */
export function versionBits(version: number): number {
  let rem = version;
  for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
  return (version << 12) | rem;
}

const MASKS: ((x: number, y: number) => boolean)[] = [
  (x, y) => (x + y) % 2 === 0,
  (_x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

class Grid {
  readonly modules: boolean[][];
  readonly fixed: boolean[][];
  constructor(readonly size: number) {
    this.modules = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
    this.fixed = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  }
  set(x: number, y: number, dark: boolean): void {
    (this.modules[y] as boolean[])[x] = dark;
    (this.fixed[y] as boolean[])[x] = true;
  }
  get(x: number, y: number): boolean {
    return (this.modules[y] as boolean[])[x] as boolean;
  }
}

function drawFunctionPatterns(g: Grid, version: number, level: QrLevel): void {
  const size = g.size;
  for (let i = 0; i < size; i++) {
    g.set(6, i, i % 2 === 0);
    g.set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [
    [3, 3],
    [size - 4, 3],
    [3, size - 4],
  ] as const) {
    for (let dy = -4; dy <= 4; dy++)
      for (let dx = -4; dx <= 4; dx++) {
        const d = Math.max(Math.abs(dx), Math.abs(dy));
        const x = cx + dx;
        const y = cy + dy;
        if (x >= 0 && x < size && y >= 0 && y < size) g.set(x, y, d !== 2 && d !== 4);
      }
  }
  const pos = alignmentPositions(version);
  const last = pos.length - 1;
  for (const [i, ax] of pos.entries())
    for (const [j, ay] of pos.entries()) {
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue;
      for (let dy = -2; dy <= 2; dy++)
        for (let dx = -2; dx <= 2; dx++) g.set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
    }
  drawFormat(g, level, 0);
  if (version >= 7) {
    const bits = versionBits(version);
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      const a = size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      g.set(a, b, dark);
      g.set(b, a, dark);
    }
  }
}

function drawFormat(g: Grid, level: QrLevel, mask: number): void {
  const bits = formatBits(level, mask);
  const bit = (i: number) => ((bits >>> i) & 1) === 1;
  const size = g.size;
  for (let i = 0; i <= 5; i++) g.set(8, i, bit(i));
  g.set(8, 7, bit(6));
  g.set(8, 8, bit(7));
  g.set(7, 8, bit(8));
  for (let i = 9; i < 15; i++) g.set(14 - i, 8, bit(i));
  for (let i = 0; i < 8; i++) g.set(size - 1 - i, 8, bit(i));
  for (let i = 8; i < 15; i++) g.set(8, size - 15 + i, bit(i));
  g.set(8, size - 8, true);
}

function codewordsOf(bytes: Uint8Array, version: number, level: QrLevel): number[] {
  const capacity = dataCodewords(version, level);
  const bits: number[] = [];
  const push = (value: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  push(0b0100, 4);
  push(bytes.length, version <= 9 ? 8 : 16);
  for (const b of bytes) push(b, 8);
  push(0, Math.min(4, capacity * 8 - bits.length));
  push(0, (8 - (bits.length % 8)) % 8);
  for (let pad = 0xec; bits.length < capacity * 8; pad ^= 0xec ^ 0x11) push(pad, 8);
  const data: number[] = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  const blocks = BLOCKS[level][version] as number;
  const ecc = ECC_PER_BLOCK[level][version] as number;
  const raw = Math.floor(rawDataModules(version) / 8);
  const shortBlocks = blocks - (raw % blocks);
  const shortLen = Math.floor(raw / blocks);
  const out: number[][] = [];
  for (let i = 0, k = 0; i < blocks; i++) {
    const dat = data.slice(k, k + shortLen - ecc + (i < shortBlocks ? 0 : 1));
    k += dat.length;
    const block = [...dat];
    if (i < shortBlocks) block.push(-1);
    out.push([...block, ...rsRemainder(dat, ecc)]);
  }
  const result: number[] = [];
  for (let i = 0; i < (out[0] as number[]).length; i++)
    out.forEach((block, j) => {
      if (i !== shortLen - ecc || j >= shortBlocks) result.push(block[i] as number);
    });
  return result;
}

function drawCodewords(g: Grid, codewords: readonly number[]): void {
  const size = g.size;
  let i = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert++)
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const upward = ((right + 1) & 2) === 0;
        const y = upward ? size - 1 - vert : vert;
        if (!(g.fixed[y] as boolean[])[x] && i < codewords.length * 8) {
          (g.modules[y] as boolean[])[x] = (((codewords[i >>> 3] as number) >>> (7 - (i & 7))) & 1) === 1;
          i++;
        }
      }
  }
}

function applyMask(g: Grid, mask: number): void {
  const f = MASKS[mask] as (x: number, y: number) => boolean;
  for (let y = 0; y < g.size; y++)
    for (let x = 0; x < g.size; x++)
      if (!(g.fixed[y] as boolean[])[x] && f(x, y)) (g.modules[y] as boolean[])[x] = !g.get(x, y);
}

/** The standard penalty score (runs, 2×2 blocks, finder-like patterns, dark balance). */
function penalty(g: Grid): number {
  const size = g.size;
  let score = 0;
  const line = (get: (i: number) => boolean) => {
    let run = 1;
    for (let i = 1; i <= size; i++) {
      if (i < size && get(i) === get(i - 1)) run++;
      else {
        if (run >= 5) score += run - 2;
        run = 1;
      }
    }
    for (let i = 0; i + 11 <= size; i++) {
      const s = Array.from({ length: 11 }, (_, k) => (get(i + k) ? 1 : 0)).join('');
      if (s === '10111010000' || s === '00001011101') score += 40;
    }
  };
  for (let y = 0; y < size; y++) line((x) => g.get(x, y));
  for (let x = 0; x < size; x++) line((y) => g.get(x, y));
  for (let y = 0; y + 1 < size; y++)
    for (let x = 0; x + 1 < size; x++) {
      const c = g.get(x, y);
      if (c === g.get(x + 1, y) && c === g.get(x, y + 1) && c === g.get(x + 1, y + 1)) score += 3;
    }
  let dark = 0;
  for (const row of g.modules) for (const m of row) if (m) dark++;
  const total = size * size;
  score += (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1) * 10;
  return score;
}

/** Encode `text` (UTF-8) at `level` in the smallest version that holds it, or undefined if none does. */
export function encodeQr(text: string, level: QrLevel = 'L', maxVersion = 40): QrSymbol | undefined {
  const bytes = new TextEncoder().encode(text);
  let version = 1;
  for (; version <= maxVersion; version++) {
    const needed = 4 + (version <= 9 ? 8 : 16) + bytes.length * 8;
    if (needed <= dataCodewords(version, level) * 8) break;
  }
  if (version > maxVersion) return undefined;
  const size = version * 4 + 17;
  const codewords = codewordsOf(bytes, version, level);
  let best: { mask: number; grid: Grid; score: number } | undefined;
  for (let mask = 0; mask < 8; mask++) {
    const g = new Grid(size);
    drawFunctionPatterns(g, version, level);
    drawCodewords(g, codewords);
    applyMask(g, mask);
    drawFormat(g, level, mask);
    const score = penalty(g);
    if (!best || score < best.score) best = { mask, grid: g, score };
  }
  const b = best as { mask: number; grid: Grid };
  return { version, level, mask: b.mask, size, modules: b.grid.modules };
}

/** Draw a symbol with half-block characters (two module rows per text line), with a quiet zone. */
export function renderQr(symbol: QrSymbol, quiet = 2): string {
  const n = symbol.size + quiet * 2;
  // Most terminals draw light text on a dark background, so a light module is a block and a dark one
  // a space (as `qrencode -t UTF8` does).
  const at = (x: number, y: number) => {
    const sx = x - quiet;
    const sy = y - quiet;
    return (
      sx >= 0 && sy >= 0 && sx < symbol.size && sy < symbol.size && (symbol.modules[sy] as boolean[])[sx]
    );
  };
  const lines: string[] = [];
  for (let y = 0; y < n; y += 2) {
    let line = '';
    for (let x = 0; x < n; x++) {
      const top = !at(x, y);
      const bottom = y + 1 < n ? !at(x, y + 1) : false;
      line += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** A QR code of `text` for a terminal `columns` wide, or why there is none. */
export function terminalQr(
  text: string,
  columns = 120,
): { ok: true; text: string; chars: number; version: number } | { ok: false; reason: string } {
  const symbol = encodeQr(text, 'L');
  if (!symbol) return { ok: false, reason: `${text.length} characters are more than a QR code holds` };
  const width = symbol.size + 4;
  if (width > columns)
    return {
      ok: false,
      reason: `the request needs a ${width}-column QR code (version ${symbol.version}) and the terminal has ${columns}`,
    };
  return { ok: true, text: renderQr(symbol), chars: text.length, version: symbol.version };
}
