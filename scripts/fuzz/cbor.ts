/**
 * Structure-aware CBOR mutation (App Attest attestation and assertion objects): the item tree is read
 * with its own small reader (keeping duplicate map keys and header forms), one item is damaged
 * (length fields and header forms, tags, truncation, nesting, key and value types, the DER of an
 * x5c entry through the DER mutator) and the tree is written again.
 */
import { mutateBytes, nastyString } from './bytes.ts';
import { mutateDer } from './der.ts';
import type { Rng } from './rng.ts';

type Item =
  | { kind: 'uint' | 'nint'; value: bigint }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'text'; value: string }
  | { kind: 'array'; items: Item[] }
  | { kind: 'map'; entries: [Item, Item][] }
  | { kind: 'tag'; tag: bigint; item: Item }
  | { kind: 'raw'; bytes: Uint8Array };

function readItem(b: Uint8Array, at: number, depth: number): { item: Item; next: number } {
  if (at >= b.length || depth > 64) throw new Error('end');
  const ib = b[at] as number;
  const major = ib >> 5;
  const info = ib & 0x1f;
  let i = at + 1;
  let arg = 0n;
  if (info < 24) arg = BigInt(info);
  else if (info <= 27) {
    const n = 1 << (info - 24);
    if (i + n > b.length) throw new Error('end');
    for (let k = 0; k < n; k++) arg = (arg << 8n) | BigInt(b[i++] as number);
  } else throw new Error('form');
  if (major === 7) return { item: { kind: 'raw', bytes: b.subarray(at, i) }, next: i };
  if (major === 0 || major === 1)
    return { item: { kind: major === 0 ? 'uint' : 'nint', value: arg }, next: i };
  if (major === 2 || major === 3) {
    const end = i + Number(arg);
    if (end > b.length) throw new Error('end');
    const v = b.subarray(i, end);
    return {
      item:
        major === 2 ? { kind: 'bytes', value: v } : { kind: 'text', value: Buffer.from(v).toString('utf8') },
      next: end,
    };
  }
  if (major === 4) {
    const items: Item[] = [];
    for (let k = 0n; k < arg; k++) {
      const r = readItem(b, i, depth + 1);
      items.push(r.item);
      i = r.next;
    }
    return { item: { kind: 'array', items }, next: i };
  }
  if (major === 5) {
    const entries: [Item, Item][] = [];
    for (let k = 0n; k < arg; k++) {
      const key = readItem(b, i, depth + 1);
      const val = readItem(b, key.next, depth + 1);
      entries.push([key.item, val.item]);
      i = val.next;
    }
    return { item: { kind: 'map', entries }, next: i };
  }
  const r = readItem(b, i, depth + 1);
  return { item: { kind: 'tag', tag: arg, item: r.item }, next: r.next };
}

function head(major: number, n: bigint): Uint8Array {
  if (n < 24n) return Uint8Array.of((major << 5) | Number(n));
  const sizes: [number, number][] = [
    [24, 1],
    [25, 2],
    [26, 4],
    [27, 8],
  ];
  for (const [info, len] of sizes) {
    if (n < 1n << BigInt(len * 8)) {
      const out = new Uint8Array(len + 1);
      out[0] = (major << 5) | info;
      for (let k = len, v = n; k >= 1; k--, v >>= 8n) out[k] = Number(v & 0xffn);
      return out;
    }
  }
  return Uint8Array.of((major << 5) | 27, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
}

function writeItem(it: Item): Uint8Array {
  switch (it.kind) {
    case 'uint':
      return head(0, it.value);
    case 'nint':
      return head(1, it.value);
    case 'bytes':
      return Buffer.concat([head(2, BigInt(it.value.length)), it.value]);
    case 'text': {
      const t = Buffer.from(it.value);
      return Buffer.concat([head(3, BigInt(t.length)), t]);
    }
    case 'array':
      return Buffer.concat([head(4, BigInt(it.items.length)), ...it.items.map(writeItem)]);
    case 'map':
      return Buffer.concat([
        head(5, BigInt(it.entries.length)),
        ...it.entries.flatMap(([k, v]) => [writeItem(k), writeItem(v)]),
      ]);
    case 'tag':
      return Buffer.concat([head(6, it.tag), writeItem(it.item)]);
    default:
      return it.bytes;
  }
}

function every(it: Item, out: Item[] = []): Item[] {
  out.push(it);
  if (it.kind === 'array') for (const x of it.items) every(x, out);
  else if (it.kind === 'map')
    for (const [k, v] of it.entries) {
      every(k, out);
      every(v, out);
    }
  else if (it.kind === 'tag') every(it.item, out);
  return out;
}

function randomItem(rng: Rng): Item {
  switch (rng.int(8)) {
    case 0:
      return { kind: 'uint', value: rng.pick([0n, 23n, 24n, 255n, 65536n, 2n ** 32n, 2n ** 64n - 1n]) };
    case 1:
      return { kind: 'nint', value: rng.pick([0n, 1n, 2n ** 63n, 2n ** 64n - 1n]) };
    case 2:
      return { kind: 'bytes', value: rng.bytes(rng.size(300)) };
    case 3:
      return { kind: 'text', value: nastyString(rng) };
    case 4:
      return { kind: 'array', items: [] };
    case 5:
      return { kind: 'map', entries: [] };
    case 6:
      return {
        kind: 'raw',
        bytes: rng.pick([
          Uint8Array.of(0xf4),
          Uint8Array.of(0xf6),
          Uint8Array.of(0xf7),
          Uint8Array.of(0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0),
          Uint8Array.of(0xf9, 0x7c, 0),
        ]),
      };
    default:
      return {
        kind: 'tag',
        tag: rng.pick([0n, 1n, 2n, 24n, 55799n, 2n ** 32n]),
        item: { kind: 'bytes', value: rng.bytes(8) },
      };
  }
}

/** Raw header damage that no writer of a valid tree produces: indefinite lengths, reserved forms, huge claims. */
function headerDamage(rng: Rng, b: Uint8Array): Uint8Array {
  const at = rng.int(b.length + 1);
  const piece = rng.pick([
    Uint8Array.of(0x5f),
    Uint8Array.of(0x9f),
    Uint8Array.of(0xbf),
    Uint8Array.of(0xff),
    Uint8Array.of(0x1c),
    Uint8Array.of(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    Uint8Array.of(0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00),
    Uint8Array.of(0xba, 0x7f, 0xff, 0xff, 0xff),
    Uint8Array.of(0x7a, 0xff, 0xff, 0xff, 0xff),
    Uint8Array.of(0xd9, 0xd9, 0xf7),
    Uint8Array.of(0xc1, 0xfb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0),
    Uint8Array.of(...new Array(rng.pick([100, 5000, 50_000])).fill(0x81)),
  ]);
  return Buffer.concat([
    b.subarray(0, at),
    piece,
    b.subarray(rng.chance(0.5) ? at : Math.min(b.length, at + piece.length)),
  ]);
}

/** Mutate CBOR bytes (an App Attest object); falls back to raw mutation for undecodable bytes. */
export function mutateCbor(rng: Rng, cbor: Uint8Array, others: readonly Uint8Array[] = []): Uint8Array {
  const other = others.length ? rng.pick(others) : undefined;
  let root: Item;
  try {
    root = readItem(cbor, 0, 0).item;
  } catch {
    return mutateBytes(rng, cbor, other);
  }
  if (rng.chance(0.12)) return mutateBytes(rng, cbor, other);
  if (rng.chance(0.08)) return headerDamage(rng, cbor);
  const items = every(root);
  const it = rng.pick(items);
  switch (rng.int(9)) {
    case 0:
    case 1:
      // A byte string: most of the interesting content (authData, DER certificates, receipts).
      if (it.kind === 'bytes') {
        const looksDer = it.value[0] === 0x30;
        it.value = looksDer && rng.chance(0.7) ? mutateDer(rng, it.value) : mutateBytes(rng, it.value);
      } else Object.assign(it, randomItem(rng));
      break;
    case 2:
      // Swap the item's type.
      for (const k of Object.keys(it)) delete (it as Record<string, unknown>)[k];
      Object.assign(it, randomItem(rng));
      break;
    case 3:
      if (it.kind === 'map' && it.entries.length) {
        const e = rng.pick(it.entries);
        // Duplicate key with another value, or the entry removed.
        if (rng.chance(0.5)) it.entries.push([e[0], randomItem(rng)]);
        else it.entries.splice(it.entries.indexOf(e), 1);
      } else if (it.kind === 'array' && it.items.length) {
        if (rng.chance(0.5)) it.items.splice(rng.int(it.items.length), 1);
        else
          it.items.push(
            ...Array.from({ length: rng.pick([1, 8, 100]) }, () => rng.pick((it as { items: Item[] }).items)),
          );
      }
      break;
    case 4:
      if (it.kind === 'map') it.entries.push([randomItem(rng), randomItem(rng)]);
      else if (it.kind === 'array') it.items.push(randomItem(rng));
      break;
    case 5: {
      // Nesting: wrapped in arrays or tags many times.
      let w: Item = { ...it } as Item;
      for (let k = rng.pick([1, 10, 100, 1000]); k > 0; k--)
        w = rng.chance(0.5)
          ? { kind: 'array', items: [w] }
          : { kind: 'tag', tag: rng.pick([0n, 24n, 55799n]), item: w };
      for (const k of Object.keys(it)) delete (it as Record<string, unknown>)[k];
      Object.assign(it, w);
      break;
    }
    case 6:
      if (it.kind === 'text')
        it.value = rng.pick([
          'fmt',
          'attStmt',
          'authData',
          'x5c',
          'receipt',
          'signature',
          'authenticatorData',
          'apple-appattest',
          'packed',
          'none',
          nastyString(rng),
        ]);
      else if (it.kind === 'uint' || it.kind === 'nint')
        it.value = rng.pick([0n, 1n, 2n ** 32n, 2n ** 64n - 1n]);
      else Object.assign(it, randomItem(rng));
      break;
    case 7: {
      // An item of another object of the corpus put here.
      try {
        const o = other ? readItem(other, 0, 0).item : undefined;
        if (o) {
          const donor = rng.pick(every(o));
          for (const k of Object.keys(it)) delete (it as Record<string, unknown>)[k];
          Object.assign(it, donor);
        }
      } catch {}
      break;
    }
    default:
      if (it.kind === 'bytes') it.value = it.value.subarray(0, rng.int(it.value.length + 1));
      else if (it.kind === 'text') it.value = it.value.slice(0, rng.int(it.value.length + 1));
  }
  const out = writeItem(root);
  return rng.chance(0.08) ? out.subarray(0, rng.int(out.length)) : out;
}
