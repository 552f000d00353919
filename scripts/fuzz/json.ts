/**
 * Structure-aware JSON mutation: any node of a valid document swapped for another type, removed,
 * duplicated under the same key, given extra fields, nested very deep, made huge, or given numbers
 * JSON.parse reads oddly (1e400, -0, 2^53+1). The result is JSON text, since duplicate keys and
 * raw numbers only exist in text.
 */
import { MAX_MUTATED, nastyString } from './bytes.ts';
import type { Rng } from './rng.ts';

/** Text emitted as is by {@link toJsonText} (numbers JSON.stringify would normalise). */
export class Raw {
  constructor(readonly text: string) {}
}

/** Extra `[key, value]` pairs an object is serialised with after its own: duplicate keys. */
export const DUPLICATES: unique symbol = Symbol('duplicates');

type Node = unknown;
interface Dups {
  [DUPLICATES]?: [string, Node][];
}

/**
 * Serialise with {@link Raw} values and {@link DUPLICATES} honoured (`null` for a tree too deep to
 * walk). The text stops at {@link MAX_MUTATED} characters, where every mutated output is cut anyway:
 * a big string repeated in a big array (10 000 copies of 848 kB, seed 1 `gateway-register` input
 * 573154) would otherwise be written out in full first, gigabytes, and end the campaign out of memory.
 */
export function toJsonText(v: Node): string {
  const out: string[] = [];
  const written = { n: 0 };
  try {
    ser(v, out, written);
    return out.join('');
  } catch (e) {
    if (e === TOO_LONG) return out.join('').slice(0, MAX_MUTATED);
    return 'null';
  }
}

const TOO_LONG = Symbol('too long');

function put(text: string, out: string[], written: { n: number }): void {
  out.push(text);
  written.n += text.length;
  if (written.n > MAX_MUTATED) throw TOO_LONG;
}

function ser(v: Node, out: string[], written: { n: number }): void {
  if (v instanceof Raw) put(v.text, out, written);
  else if (v === undefined) put('null', out, written);
  else if (Array.isArray(v)) {
    put('[', out, written);
    v.forEach((x, i) => {
      if (i > 0) put(',', out, written);
      ser(x, out, written);
    });
    put(']', out, written);
  } else if (typeof v === 'object' && v !== null) {
    put('{', out, written);
    let first = true;
    for (const [k, x] of [...Object.entries(v), ...((v as Dups)[DUPLICATES] ?? [])]) {
      put(`${first ? '' : ','}${JSON.stringify(k)}:`, out, written);
      first = false;
      ser(x, out, written);
    }
    put('}', out, written);
  } else if (typeof v === 'number' && !Number.isFinite(v)) put('null', out, written);
  else put(JSON.stringify(v) ?? 'null', out, written);
}

/** `JSON.stringify(v)` (a Raw as its object), or the capped {@link toJsonText} of a value too big for it. */
function asJsonString(v: Node): string {
  return approxLength(v, MAX_MUTATED) <= MAX_MUTATED ? JSON.stringify(v) : toJsonText(v);
}

/** About how long `v`'s JSON text is, counted only up to `limit` (then more than `limit`). */
function approxLength(v: Node, limit: number, seen = { n: 0, nodes: 0 }): number {
  if (seen.n > limit) return seen.n;
  // A tree too deep or wide to walk cheaply counts as too long.
  if (++seen.nodes > 100_000) return limit + 1;
  if (typeof v === 'string') seen.n += v.length + 2;
  else if (v instanceof Raw) seen.n += v.text.length + 12;
  else if (Array.isArray(v)) for (const x of v) approxLength(x, limit, seen);
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) {
      seen.n += k.length + 4;
      approxLength(x, limit, seen);
    }
  else seen.n += 8;
  return seen.n;
}

/** A deep copy of plain JSON data. */
export function clone<T>(v: T): T {
  return structuredClone(v);
}

const ODD_NUMBERS = [
  '1e400',
  '-1e400',
  '-0',
  '0.0',
  '1.0',
  '1e-400',
  '9007199254740993',
  '-9007199254740993',
  '18446744073709551616',
  '0.1e1',
  '4294967296',
  '2147483648',
  '-1',
  '1.5',
  '1E2',
  '123456789012345678901234567890',
];

/** A value of a random JSON type (or a raw odd number). */
export function randomValue(rng: Rng, depth = 0): Node {
  switch (rng.int(depth > 2 ? 8 : 11)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, 1, -1, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e21, 0.5, Number.MAX_VALUE, 1e-7]);
    case 3:
      return new Raw(rng.pick(ODD_NUMBERS));
    case 4:
    case 5:
      return nastyString(rng);
    case 6:
      return rng.range(-1000, 2_000_000_000);
    case 7:
      return '';
    case 8:
      return Array.from({ length: rng.size(8) }, () => randomValue(rng, depth + 1));
    case 9: {
      const o: Record<string, Node> = {};
      for (let i = rng.size(6); i > 0; i--) o[nastyString(rng).slice(0, 40)] = randomValue(rng, depth + 1);
      return o;
    }
    default:
      return rng.chance(0.3) ? deep(rng) : [[[[randomValue(rng, 3)]]]];
  }
}

/** Nesting deep enough to hurt a recursive reader. */
function deep(rng: Rng): Raw {
  const n = rng.pick([64, 64, 1000, 1000, 5000, 20_000]);
  return rng.chance(0.5)
    ? new Raw(`${'['.repeat(n)}${']'.repeat(n)}`)
    : new Raw(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`);
}

/** Every container-and-key location in a document (the root has no parent). */
function locations(
  v: Node,
  out: { parent: Node; key: string | number }[] = [],
  budget = { n: 200 },
): typeof out {
  if (budget.n-- <= 0) return out;
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push({ parent: v, key: i });
      locations(x, out, budget);
    });
  } else if (typeof v === 'object' && v !== null && !(v instanceof Raw)) {
    for (const [k, x] of Object.entries(v)) {
      out.push({ parent: v, key: k });
      locations(x, out, budget);
    }
  }
  return out;
}

/** A type swap of `v`: a string becomes a number, an object an array, and so on. */
function swapped(rng: Rng, v: Node): Node {
  if (typeof v === 'string')
    return rng.pick<Node>([
      v.length,
      [v],
      { v },
      null,
      true,
      `${v}${nastyString(rng)}`,
      // Long, but not so long that a few more mutations pass what V8 lets a string be.
      v.repeat(v.length > 1024 ? 2 : rng.pick([2, 1000])),
      '',
    ]);
  if (typeof v === 'number')
    return rng.pick<Node>([
      String(v),
      -v,
      v + 1,
      v - 1,
      v * 1000,
      v + 0.5,
      null,
      [v],
      new Raw(rng.pick(ODD_NUMBERS)),
    ]);
  if (Array.isArray(v))
    return rng.pick<Node>([
      {},
      v[0] ?? null,
      [],
      [...v, ...v],
      Array.from({ length: rng.pick([100, 10_000]) }, () => v[0] ?? 1),
      asJsonString(v),
    ]);
  if (typeof v === 'object' && v !== null) return rng.pick<Node>([[], [v], asJsonString(v), {}, null]);
  return randomValue(rng);
}

/** One structure-aware mutation of a JSON document (mutates a copy; returns the new root). */
export function mutateJsonValue(rng: Rng, doc: Node, others: readonly Node[] = []): Node {
  const root = clone(doc);
  const locs = locations(root);
  if (locs.length === 0 || rng.chance(0.05)) return rng.chance(0.5) ? swapped(rng, root) : randomValue(rng);
  const { parent, key } = rng.pick(locs);
  const p = parent as Record<string | number, Node>;
  switch (rng.int(9)) {
    case 0:
    case 1:
      p[key] = swapped(rng, p[key]);
      break;
    case 2:
      if (Array.isArray(p)) p.splice(key as number, 1);
      else delete p[key];
      break;
    case 3:
      if (Array.isArray(p)) p.push(randomValue(rng));
      else
        p[
          rng.chance(0.5)
            ? nastyString(rng).slice(0, 40)
            : rng.pick(['extra', 'alg', 'typ', 'kid', 'jwk', 'crit', 'x5c', 'b64', 'iss', 'exp', '__proto__'])
        ] = randomValue(rng);
      break;
    case 4:
      if (!Array.isArray(p)) {
        // The same key twice: the first and the last reader of the text disagree.
        const d = p as Dups;
        d[DUPLICATES] = [
          ...(d[DUPLICATES] ?? []),
          [String(key), rng.chance(0.5) ? swapped(rng, p[key]) : randomValue(rng)],
        ];
      } else p[key] = randomValue(rng);
      break;
    case 5:
      p[key] = randomValue(rng);
      break;
    case 6: {
      // A value taken from another document of the corpus at a random place.
      const other = others.length ? rng.pick(others) : undefined;
      const ol = other === undefined ? [] : locations(clone(other));
      if (ol.length) {
        const o = rng.pick(ol);
        p[key] = (o.parent as Record<string | number, Node>)[o.key];
      } else p[key] = randomValue(rng);
      break;
    }
    case 7:
      p[key] = deep(rng);
      break;
    default:
      if (typeof p[key] === 'number') p[key] = new Raw(rng.pick(ODD_NUMBERS));
      else if (typeof p[key] === 'string') p[key] = nastyString(rng);
      else p[key] = swapped(rng, p[key]);
  }
  return root;
}

/** One to three mutations, serialised, sometimes with text-level damage (BOM, trailing bytes, whitespace). */
export function mutateJson(rng: Rng, doc: Node, others: readonly Node[] = []): string {
  let v = doc;
  let text: string;
  try {
    for (let i = rng.pick([1, 1, 2, 3]); i > 0; i--) v = mutateJsonValue(rng, v, others);
    text = toJsonText(v);
  } catch {
    // A document too deep to copy (an earlier mutation nested it): start from a fresh value.
    text = toJsonText(randomValue(rng));
  }
  if (text.length > MAX_MUTATED) text = text.slice(0, MAX_MUTATED);
  if (rng.chance(0.08)) {
    text = rng.pick([
      `\ufeff${text}`,
      `${text} `,
      `${text}x`,
      ` \n${text}\n`,
      text.slice(0, rng.int(text.length)),
      `${text}${text}`,
      `[${text}]`,
      text.replace(/":/g, '" :'),
    ]);
  }
  // A string repeated inside a repeated node, mutated again and doubled, can pass 512 MB (more than
  // V8 lets a string be): capped like every other mutated output.
  return text.length > MAX_MUTATED ? text.slice(0, MAX_MUTATED) : text;
}
