/**
 * Structure-aware DER mutation (certificates, the Android KeyDescription inside them, CMS blocks in
 * APKs): the TLV tree is read leniently, one node is damaged (length fields, tags, truncation,
 * nesting, removed, doubled or foreign children, odd INTEGER and OID contents) and the tree is
 * written again with consistent lengths except where the damage is the length itself.
 */
import { mutateBytes } from './bytes.ts';
import type { Rng } from './rng.ts';

interface DerNode {
  tag: Uint8Array;
  constructed: boolean;
  children?: DerNode[];
  value: Uint8Array;
  /** Length bytes written instead of the true ones. */
  lengthOverride?: Uint8Array;
}

function readNode(
  buf: Uint8Array,
  at: number,
  end: number,
  depth: number,
): { node: DerNode; next: number } | undefined {
  if (at >= end) return undefined;
  const first = buf[at] as number;
  let i = at + 1;
  if ((first & 0x1f) === 0x1f) {
    while (i < end && ((buf[i] as number) & 0x80) !== 0) i++;
    i++;
  }
  if (i >= end) return undefined;
  const tag = buf.subarray(at, i);
  let len = buf[i++] as number;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || i + n > end) return undefined;
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + (buf[i++] as number);
  }
  if (i + len > end) return undefined;
  const value = buf.subarray(i, i + len);
  const constructed = (first & 0x20) !== 0;
  const node: DerNode = { tag, constructed, value };
  if (constructed && depth < 40) {
    const kids: DerNode[] = [];
    let j = 0;
    while (j < value.length) {
      const r = readNode(value, j, value.length, depth + 1);
      if (!r) break;
      kids.push(r.node);
      j = r.next;
    }
    if (j === value.length) node.children = kids;
  }
  return { node, next: i + len };
}

function lengthBytes(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Uint8Array.of(0x80 | out.length, ...out);
}

function write(node: DerNode): Uint8Array {
  const value = node.children ? Buffer.concat(node.children.map(write)) : node.value;
  return Buffer.concat([node.tag, node.lengthOverride ?? lengthBytes(value.length), value]);
}

function all(node: DerNode, out: DerNode[] = []): DerNode[] {
  out.push(node);
  for (const c of node.children ?? []) all(c, out);
  return out;
}

function wrap(tag: number, inner: DerNode): DerNode {
  return {
    tag: Uint8Array.of(tag),
    constructed: (tag & 0x20) !== 0,
    children: [inner],
    value: new Uint8Array(),
  };
}

/** Mutate DER bytes; falls back to raw mutation when the bytes are not a TLV tree. */
export function mutateDer(rng: Rng, der: Uint8Array, others: readonly Uint8Array[] = []): Uint8Array {
  const other = others.length ? rng.pick(others) : undefined;
  const parsed = rng.chance(0.85) ? readNode(der, 0, der.length, 0) : undefined;
  if (!parsed) return mutateBytes(rng, der, other);
  const root = parsed.node;
  const nodes = all(root);
  const n = rng.pick(nodes);
  switch (rng.int(11)) {
    case 0: {
      // Length fields: off by one, huge, indefinite, non-minimal long form.
      const real = n.children ? Buffer.concat(n.children.map(write)).length : n.value.length;
      n.lengthOverride = rng.pick([
        lengthBytes(Math.max(0, real + 1)),
        lengthBytes(Math.max(0, real - 1)),
        Uint8Array.of(0x80),
        Uint8Array.of(0x84, 0xff, 0xff, 0xff, 0xff),
        Uint8Array.of(0x84, 0x7f, 0xff, 0xff, 0xff),
        Uint8Array.of(0x85, 0, 0, 0, 0, 1),
        Uint8Array.of(0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        Uint8Array.of(0x82, 0x00, Math.min(real, 0x7f)),
        Uint8Array.of(0xff),
      ]);
      break;
    }
    case 1: {
      // Tags: class, constructed bit, number, high-tag-number form.
      const t = n.tag[0] as number;
      n.tag = rng.pick([
        Uint8Array.of(t ^ 0x20),
        Uint8Array.of(t ^ 0xc0),
        Uint8Array.of((t & 0xe0) | rng.int(31)),
        Uint8Array.of(t | 0x1f, 0x81, 0x80, 0x00),
        Uint8Array.of(t | 0x1f, 0x87, 0x46),
        Uint8Array.of(t | 0x1f, ...Array.from({ length: 12 }, () => 0xff), 0x01),
        Uint8Array.of(0x00),
        Uint8Array.of(rng.u32() & 0xff),
      ]);
      break;
    }
    case 2:
      // Truncated value.
      n.value = (n.children ? Buffer.concat(n.children.map(write)) : n.value).subarray(
        0,
        rng.int(n.value.length + 1),
      );
      n.children = undefined;
      break;
    case 3:
      if (n.children?.length) n.children.splice(rng.int(n.children.length), 1);
      else n.value = new Uint8Array();
      break;
    case 4:
      if (n.children?.length) {
        const c = rng.pick(n.children);
        n.children.splice(
          rng.int(n.children.length + 1),
          0,
          ...Array.from({ length: rng.pick([1, 2, 50]) }, () => c),
        );
      } else n.value = Buffer.concat([n.value, n.value]);
      break;
    case 5:
      if (n.children && n.children.length > 1) n.children.reverse();
      else n.value = mutateBytes(rng, n.value);
      break;
    case 6: {
      // Nesting: the node wrapped many times (SEQUENCE, SET, OCTET STRING, context tags).
      let w = { ...n };
      for (let k = rng.pick([1, 2, 30, 200, 2000]); k > 0; k--)
        w = wrap(rng.pick([0x30, 0x31, 0xa0, 0xa3, 0xbf]), w);
      Object.assign(n, w);
      break;
    }
    case 7: {
      // Odd contents of primitives: INTEGER leading zeros, negative, huge; OID with long arcs.
      n.children = undefined;
      n.value = rng.pick([
        Uint8Array.of(0x00, 0x00, 0x01),
        Uint8Array.of(0xff),
        Uint8Array.of(0x80, ...new Uint8Array(40)),
        new Uint8Array(rng.pick([0, 9, 33, 4096])).fill(0xff),
        Uint8Array.of(0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x01, 0x91),
        Uint8Array.of(0x2a, ...new Array(30).fill(0x81), 0x01),
        Uint8Array.of(0x31, 0x39, 0x39, 0x39, 0x31, 0x33, 0x32, 0x5a),
        rng.bytes(rng.size(64)),
      ]);
      break;
    }
    case 8: {
      // A foreign subtree (from another certificate) put here.
      const o = other ? readNode(other, 0, other.length, 0) : undefined;
      const donor = o ? rng.pick(all(o.node)) : undefined;
      if (donor) Object.assign(n, { ...donor, lengthOverride: undefined });
      break;
    }
    case 9:
      n.value = mutateBytes(rng, n.children ? Buffer.concat(n.children.map(write)) : n.value);
      n.children = undefined;
      n.lengthOverride = undefined;
      break;
    default:
      return mutateBytes(rng, write(root), other);
  }
  let out = write(root);
  if (rng.chance(0.1))
    out = rng.chance(0.5)
      ? out.subarray(0, rng.int(out.length))
      : Buffer.concat([out, rng.bytes(rng.size(16))]);
  return out;
}
