/**
 * Route rules (`routes.json`, SPEC.md §4): which scope a method and path need. Paths are matched in
 * canonical, percent-decoded form so that `/%61dmin` or `/orders/../admin` cannot slip past a rule
 * that the upstream server would then apply to `/admin`. And since upstream servers differ in how
 * they read a path (Express and Spring ignore case and a trailing slash by default, Tomcat and Jetty
 * drop `;` path parameters), a request needs the scope of every rule that any of those readings of
 * its path matches; what no reading can settle (encoded slashes, dot segments) is refused.
 */
import { CharterError, SCOPE } from '@charter/core';

/** One rule: a method (or `*`), a path where `*` matches any run of characters, and a scope. */
export interface RouteRule {
  method: string;
  path: string;
  scope: string;
}

/** A checked rule, method upper-cased. */
export type CompiledRoute = Readonly<RouteRule>;

const METHOD = /^([A-Z]{1,20}|\*)$/;
const MAX_RULES = 10_000;

/** Check and compile a routes document (the parsed JSON of routes.json). */
export function compileRoutes(doc: unknown): CompiledRoute[] {
  const bad = (why: string): never => {
    throw new CharterError('invalid_request', 'ERR_ROUTES', `the routes are not usable: ${why}`);
  };
  if (!Array.isArray(doc)) return bad('not a JSON array');
  if (doc.length > MAX_RULES) return bad('too many rules');
  return doc.map((r: unknown, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return bad(`rule ${i} is not an object`);
    const { method, path, scope } = r as Record<string, unknown>;
    if (typeof method !== 'string' || !METHOD.test(method.toUpperCase()))
      return bad(`rule ${i} has no usable method`);
    if (typeof path !== 'string' || !path.startsWith('/') || path.length > 2048)
      return bad(`rule ${i} has no usable path`);
    if (typeof scope !== 'string' || !SCOPE.test(scope)) return bad(`rule ${i} has no usable scope`);
    return { method: method.toUpperCase(), path, scope };
  });
}

/** Parse routes.json text. */
export function parseRoutes(text: string): CompiledRoute[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CharterError('invalid_request', 'ERR_ROUTES', 'the routes file is not JSON');
  }
  return compileRoutes(doc);
}

/**
 * The canonical, percent-decoded path of a request path (no query), refusing with `invalid_request`
 * anything an upstream server might read differently from us: encoded slashes or backslashes,
 * encoded `;`, `?` and `#` (a decoder would turn them into delimiters), dot segments (plain or
 * encoded), empty segments, NUL and control characters, malformed escapes, double encodings.
 */
export function canonicalPath(raw: string): string {
  const bad = (why: string): never => {
    throw new CharterError('invalid_request', 'ERR_PATH', `the request path ${why}`);
  };
  if (!raw.startsWith('/')) return bad('is not absolute');
  if (raw.length > 8192) return bad('is too long');
  if (/[\\\x00-\x20\x7f#?]|%(2f|5c|00|3b|3f|23)/i.test(raw))
    return bad('has a character a server may read as a separator');
  const segments = raw.slice(1).split('/');
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    if (s === '' && i !== segments.length - 1) return bad('has an empty segment');
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      return bad('has a malformed percent escape');
    }
    if (d === '.' || d === '..') return bad('has a dot segment');
    if (/[\x00-\x1f\x7f]/.test(d)) return bad('has a control character');
    // Encoded twice: a server (or a proxy in front of it) that decodes once more reads another path.
    if (/%[0-9a-f]{2}/i.test(d)) return bad('is percent-encoded twice');
    out.push(d);
  }
  return `/${out.join('/')}`;
}

/**
 * `*` wildcard matching in O(pattern × path) time, with the classic backtrack-to-last-star walk. A
 * regular expression with several `.*` can backtrack polynomially on an 8 KiB attacker-chosen path.
 */
export function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The path with and without a trailing slash (the root stays as it is). */
function slashForms(path: string): string[] {
  if (path === '/') return [path];
  return path.endsWith('/') ? [path, path.slice(0, -1)] : [path, `${path}/`];
}

/**
 * Whether a pattern matches a path as a case-insensitive, trailing-slash-tolerant server would route
 * it. Both case folds are tried, since `ı` upper-cases to `I` and `K` (Kelvin) lower-cases to `k`, and
 * servers differ in which fold they compare with.
 */
function foldedMatch(pattern: string, path: string): boolean {
  const lower = pattern.toLowerCase();
  const upper = pattern.toUpperCase();
  for (const p of slashForms(path)) {
    if (
      wildcardMatch(pattern, p) ||
      wildcardMatch(lower, p.toLowerCase()) ||
      wildcardMatch(upper, p.toUpperCase())
    )
      return true;
  }
  for (const q of slashForms(pattern).slice(1)) {
    if (
      wildcardMatch(q.toLowerCase(), path.toLowerCase()) ||
      wildcardMatch(q.toUpperCase(), path.toUpperCase())
    )
      return true;
  }
  return false;
}

/**
 * The first rule, in file order, matching a method and canonical path, ignoring case and a trailing
 * slash; undefined means no scope is needed. HEAD also matches GET rules, since it reads the same
 * resource.
 */
export function matchRoute(
  routes: readonly CompiledRoute[],
  method: string,
  path: string,
): CompiledRoute | undefined {
  for (const r of routes) {
    const methodOk = r.method === '*' || r.method === method || (method === 'HEAD' && r.method === 'GET');
    if (methodOk && foldedMatch(r.path, path)) return r;
  }
  return undefined;
}

/**
 * The canonical readings of a raw request path: as it is; without a format suffix on its last
 * segment (`/admin.json`); with `;` path parameters dropped from each
 * segment before decoding (Tomcat, Jetty and Spring route `/admin;x=1/` to `/admin/`); and cut at
 * the first `;` (find-my-way's semicolon delimiter reads `/admin;/x` as `/admin`). An encoded `;`
 * is refused by {@link canonicalPath}, as Jetty does, so decoding never makes a new delimiter. Refuses
 * with `invalid_request` what {@link canonicalPath} refuses in any reading.
 */
export function pathReadings(raw: string): string[] {
  const full = canonicalPath(raw);
  const readings = new Set([full]);
  // A format suffix on the last segment: Rails routes `/admin.json` to `/admin` (format json) and
  // Spring's suffix patterns route `/admin.x.y` there too, so both cuts are readings.
  const slash = full.lastIndexOf('/');
  const last = full.slice(slash + 1);
  for (const dot of [last.indexOf('.'), last.lastIndexOf('.')])
    if (dot > 0) readings.add(full.slice(0, slash + 1 + dot));
  if (!raw.includes(';')) return [...readings];
  readings.add(
    canonicalPath(
      raw
        .split('/')
        .map((s) => s.split(';')[0] as string)
        .join('/'),
    ),
  );
  readings.add(canonicalPath(raw.slice(0, raw.indexOf(';'))));
  return [...readings];
}

/**
 * Headers (by folded name: lower case, other characters than letters and digits as `-`) that common
 * servers read as the request's method: the `method-override` package's default, Google's and
 * ASP.NET's `X-HTTP-Method-Override`, OData's `X-HTTP-Method`, and `X-Method-Override`.
 */
const METHOD_OVERRIDE_HEADERS = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);

/** The query key HTML forms use for the same (`method-override('_method')`, Laravel, Rails, Symfony). */
const METHOD_OVERRIDE_QUERY = '_method';

/**
 * In a method reading: the request may run as any method at all (a POST whose body a server reads
 * `_method` from). {@link scopesFor} needs the scopes of the rules under every method then.
 */
export const ANY_METHOD = '*';

/**
 * Whether a POST carries a body a server may read a form's `_method` from, the body unread: a body (a
 * length above 0, or a transfer coding) of a form's media type (`application/x-www-form-urlencoded`;
 * every `multipart/` type, as Rack parses `multipart/mixed` and `multipart/related` as well as
 * `multipart/form-data`) or of none (Rack reads a POST with no Content-Type as a form). The HTML
 * form's hidden `_method` field is how Rails, Laravel and Symfony spell PUT, PATCH and DELETE, and
 * every server that reads it overrides only a POST by default. JSON is left out: a JSON POST is the
 * commonest write an API client makes, and taking every one as any method would refuse it wherever
 * the path has another method's rule; a JSON `_method` (Laravel) is read once the host has parsed it.
 */
function bodyMayOverride(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const length = headers['content-length'];
  if (headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return false;
  const type = headers['content-type'];
  if (type === undefined) return true;
  // The media type as servers compare it: before any parameter, trimmed, in lower case.
  for (const t of Array.isArray(type) ? type : [type]) {
    const semi = t.indexOf(';');
    const media = (semi === -1 ? t : t.slice(0, semi)).trim().toLowerCase();
    if (media === '' || media === 'application/x-www-form-urlencoded' || media.startsWith('multipart/'))
      return true;
  }
  return false;
}

/**
 * The methods a server may run a request as: its own, every method an override header or a
 * `_method` query parameter names (upper-cased, as servers compare them), and {@link ANY_METHOD}
 * for a POST whose body may name one. A middleware such as `method-override` turns
 * `POST /orders/1` + `X-HTTP-Method-Override: DELETE` into the `DELETE` handler's request, and Rails,
 * Laravel and Symfony do the same for a form's `_method` field, so the request needs that handler's
 * scope too. A body the host framework has parsed (`body`, library mode) is read for its `_method`;
 * otherwise the body is not read (the gateway streams it), and a form POST is taken to name any.
 */
export function methodReadings(
  method: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  rawUrl: string,
  body?: unknown,
): string[] {
  // Built only when an override is there: almost every request runs as its own method alone.
  let methods: Set<string> | undefined;
  const own = method.toUpperCase();
  if (own === 'POST') {
    if (
      typeof body === 'object' &&
      body !== null &&
      !Buffer.isBuffer(body) &&
      !ArrayBuffer.isView(body) &&
      // Express 4's parsers set `{}` on a body they did not parse (another media type): not a reading.
      Object.keys(body).length > 0
    ) {
      // Parsed by the host framework already (library mode): the `_method` it holds, if any.
      const field: unknown = Object.hasOwn(body, METHOD_OVERRIDE_QUERY)
        ? (body as Record<string, unknown>)[METHOD_OVERRIDE_QUERY]
        : undefined;
      const named = typeof field === 'string' ? [field] : field;
      if (Array.isArray(named) && named.every((f) => typeof f === 'string')) {
        if (named.length > 0) methods = new Set([own]);
        for (const f of named) addMethods(methods as Set<string>, f);
      } else if (field !== undefined) methods = new Set([own, ANY_METHOD]);
    } else if (bodyMayOverride(headers)) methods = new Set([own, ANY_METHOD]);
  }
  for (const name in headers) {
    // Every override header's name starts with an x in any spelling: the fold is for those alone.
    const c = name.charCodeAt(0);
    if (c !== 0x78 && c !== 0x58) continue;
    const value = headers[name];
    if (value === undefined || !METHOD_OVERRIDE_HEADERS.has(name.toLowerCase().replace(/[^a-z0-9]/g, '-')))
      continue;
    methods ??= new Set([own]);
    for (const v of Array.isArray(value) ? value : [value]) addMethods(methods, v);
  }
  const q = rawUrl.indexOf('?');
  // A query with neither `_` nor an escape cannot name `_method` in any spelling.
  if (q !== -1 && (rawUrl.includes('_', q) || rawUrl.includes('%', q))) {
    for (const pair of rawUrl.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=');
      let key: string;
      let value: string;
      try {
        key = decodeURIComponent((eq === -1 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
        value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
      } catch {
        continue;
      }
      // `_method`, and the bracket forms query parsers read as it (`_method[]`).
      if (key === METHOD_OVERRIDE_QUERY || key.startsWith(`${METHOD_OVERRIDE_QUERY}[`)) {
        methods ??= new Set([own]);
        addMethods(methods, value);
      }
    }
  }
  return methods ? [...methods] : [own];
}

/** Add each method a comma-separated override value names (upper-cased; `*` and non-tokens left out). */
function addMethods(methods: Set<string>, value: string): void {
  for (const part of value.split(',')) {
    const m = part.trim().toUpperCase();
    if (METHOD.test(m) && m !== '*') methods.add(m);
  }
}

/**
 * Every scope a request needs: the scope of the first matching rule under each reading of its raw
 * path ({@link pathReadings}, {@link matchRoute}) and each method it may run as
 * ({@link methodReadings}; default: the method alone), so no upstream reading reaches a guarded
 * handler without that handler's scope.
 */
export function scopesFor(
  routes: readonly CompiledRoute[],
  method: string | readonly string[],
  rawPath: string,
): string[] {
  // A pure function of its arguments, asked again for every request to the same resource: the
  // answer is kept per rule set by method(s) and path. Refusals are not kept (they are rare, and
  // thrown anew each time). Bounded: a crawl of distinct paths empties the map rather than growing it.
  let known = scopeMemo.get(routes);
  if (!known) {
    known = new Map();
    scopeMemo.set(routes, known);
  }
  const key = `${typeof method === 'string' ? method : method.join(',')} ${rawPath}`;
  const hit = known.get(key);
  if (hit) return hit;
  const scopes = computeScopes(routes, method, rawPath);
  if (known.size >= MAX_MEMO) known.clear();
  known.set(key, scopes);
  return scopes;
}

const scopeMemo = new WeakMap<readonly CompiledRoute[], Map<string, string[]>>();
const MAX_MEMO = 10_000;

function computeScopes(
  routes: readonly CompiledRoute[],
  method: string | readonly string[],
  rawPath: string,
): string[] {
  const scopes = new Set<string>();
  const named: readonly string[] = typeof method === 'string' ? [method] : method;
  // Any method: each method a rule names, and one no rule names (only `*` rules match it).
  const methods = named.includes(ANY_METHOD)
    ? [...new Set([...named, ...routes.map((r) => r.method), ''])].filter((m) => m !== ANY_METHOD)
    : named;
  for (const path of pathReadings(rawPath)) {
    for (const m of methods) {
      const r = matchRoute(routes, m, path);
      if (r) scopes.add(r.scope);
    }
  }
  return [...scopes];
}
