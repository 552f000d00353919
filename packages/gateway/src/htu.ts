/**
 * The `htu` comparison of RFC 9449 §4.3: scheme, host, port and path, without query or fragment,
 * after URL normalisation. The expected URL is built from the configured public URL, never from the
 * request's Host header, which the client controls.
 */

/** A base public URL split for cheap joining: origin and path prefix (no trailing slash). */
export interface PublicBase {
  origin: string;
  prefix: string;
  href: string;
}

/** Parse and check a public URL (`--public-url`): http(s), no query, no fragment, no credentials. */
export function publicBaseOf(url: string): PublicBase {
  const u = new URL(url);
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.search || u.hash || u.username || u.password) {
    throw new TypeError('the public URL must be an http(s) URL without query, fragment or credentials');
  }
  const prefix = u.pathname.replace(/\/+$/, '');
  return { origin: u.origin, prefix, href: u.origin + prefix };
}

/** The normalised form of a URL as `htu` compares it, or undefined if it is not an http(s) URL. */
export function normaliseHtu(value: string): string | undefined {
  if (value.length > 4096) return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** The normalised URL a proof for a request to `path` (origin-form, no query) must name. */
export function expectedHtu(base: PublicBase, path: string): string | undefined {
  // A pure function of the base and the path, asked again for every request to the same resource.
  let known = expected.get(base);
  if (!known) {
    known = new Map();
    expected.set(base, known);
  }
  const hit = known.get(path);
  if (hit !== undefined) return hit === false ? undefined : hit;
  // Joined as text, never resolved as a reference: `//evil.example/x` must not change the host.
  const htu = normaliseHtu(base.origin + base.prefix + path);
  // Bounded: a crawl of distinct paths empties the map rather than growing it.
  if (known.size >= MAX_EXPECTED) known.clear();
  known.set(path, htu ?? false);
  return htu;
}

const expected = new WeakMap<PublicBase, Map<string, string | false>>();
const MAX_EXPECTED = 10_000;

/**
 * Whether a proof's `htu` names `expected` (a value {@link normaliseHtu} gave). The same text is
 * the common case and needs no parse: normalisation is idempotent on its own output (the URL
 * Standard's serialisation reparses to itself for http(s)), so equal text normalises equal.
 */
export function htuMatches(htu: unknown, expected: string): htu is string {
  if (typeof htu !== 'string') return false;
  if (htu === expected && htu.length <= 4096) return true;
  return normaliseHtu(htu) === expected;
}
