/**
 * The documentation's links hold: every relative link and image in README.md, docs/**\/*.md and the
 * packages' own notes (packages/*\/*.md: README.md, REACT_NATIVE.md) names a file or folder inside
 * the repository, and every `#anchor` names a heading of its target as GitHub slugs it. Nothing links
 * out of the repository. Fast and offline: it reads files only.
 *
 * The rule for URLs (`http://`, `https://`):
 * - In prose (anything outside code) a URL is a link on GitHub, marked up or bare, so it is a failure
 *   wherever it points: the docs link nothing outside the repository.
 * - In code (fenced blocks and inline code spans) a URL is text, not a link: an example of what to
 *   type or what a server prints. It may name loopback (`localhost`, `127.x.x.x`, `[::1]`,
 *   `0.0.0.0`), a reserved example name (`*.example`, `*.test`, `*.invalid`, `*.localhost`,
 *   `*.internal`, `example.com|net|org`) or a placeholder (`HOST`, `…`, `$VAR`). Any other host is a
 *   failure unless it is in EXTERNAL_IN_CODE below, with the reason it must be there.
 * Out of scope: test fixtures' provenance notes (packages/*\/test/fixtures/*.md), which cite where
 * each sample came from by URL on purpose.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** URLs outside the repository that a documented command must name, each with its reason. */
const EXTERNAL_IN_CODE: Record<string, string> = {
  'https://android.googleapis.com/attestation/status':
    "the vendor's procedure fetches Google's Android attestation status list (docs/attestation.md); " +
    'packages/cli/test/revocation-procedure.test.ts runs it against a local copy',
};

/** The Markdown files whose links are checked, relative to the root. */
export function documentationFiles(root: string): string[] {
  const out: string[] = [];
  if (existsSync(join(root, 'README.md'))) out.push('README.md');
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const p = join(dir, name);
      if (statSync(join(root, p)).isDirectory()) walk(p);
      else if (name.endsWith('.md')) out.push(p);
    }
  };
  if (existsSync(join(root, 'docs'))) walk('docs');
  const packages = join(root, 'packages');
  if (existsSync(packages)) {
    for (const pkg of readdirSync(packages).sort()) {
      const dir = join(packages, pkg);
      if (!statSync(dir).isDirectory()) continue;
      for (const name of readdirSync(dir).sort())
        if (name.endsWith('.md')) out.push(join('packages', pkg, name));
    }
  }
  return out.map((p) => p.split(sep).join('/'));
}

/** GitHub's heading anchors (github-slugger): lower case, punctuation dropped, spaces as `-`, repeats numbered. */
export function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const m = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line.text);
    const anchors = [...line.text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)].map((a) => a[1] as string);
    for (const a of anchors) slugs.add(a);
    if (!m) continue;
    const text = (m[1] as string)
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text stays, its target goes
      .replace(/<[^>]+>/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

interface Line {
  n: number;
  text: string;
  code: boolean;
}

/** Every line with whether it is inside a fenced code block (HTML comments count as code: not rendered). */
function lines(markdown: string): Line[] {
  const out: Line[] = [];
  let fence: string | undefined;
  let comment = false;
  markdown.split('\n').forEach((text, i) => {
    const f = /^\s*(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence) {
      out.push({ n: i + 1, text, code: true });
      if (f && f[0] === fence[0] && f.length >= fence.length && text.trim() === f) fence = undefined;
      return;
    }
    if (f) {
      fence = f;
      out.push({ n: i + 1, text, code: true });
      return;
    }
    let rest = text;
    if (comment) {
      const end = rest.indexOf('-->');
      if (end < 0) {
        out.push({ n: i + 1, text, code: true });
        return;
      }
      comment = false;
      rest = rest.slice(end + 3);
    }
    rest = rest.replace(/<!--.*?-->/g, '');
    const open = rest.indexOf('<!--');
    if (open >= 0) {
      comment = true;
      rest = rest.slice(0, open);
    }
    out.push({ n: i + 1, text: rest, code: false });
  });
  return out;
}

function proseLines(markdown: string): Line[] {
  return lines(markdown).filter((l) => !l.code);
}

const URL_RE = /https?:\/\/[^\s)`'"<>\]]+/g;

/** Whether a URL written in code is an example that points nowhere real. */
export function exampleUrl(url: string): boolean {
  if (url in EXTERNAL_IN_CODE) return true;
  const host = /^https?:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^/:?#]*)/.exec(url)?.[1] ?? '';
  if (host === '' || /[…${}]/.test(host) || /^[A-Z0-9_.-]*[A-Z][A-Z0-9_.-]*$/.test(host)) return true; // placeholder
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '[::1]' || h === '0.0.0.0' || /^127\.\d+\.\d+\.\d+$/.test(h)) return true;
  if (/\.(example|test|invalid|localhost|internal)$/.test(h)) return true;
  return /^(.*\.)?example\.(com|net|org)$/.test(h);
}

/** Every problem in one file, one line each (`file:line: what`). */
export function problemsOf(root: string, file: string): string[] {
  const problems: string[] = [];
  const text = readFileSync(join(root, file), 'utf8');
  const at = (n: number, what: string) => problems.push(`${file}:${n}: ${what}`);
  const codeUrl = (n: number, code: string) => {
    for (const url of code.match(URL_RE) ?? [])
      if (!exampleUrl(url)) at(n, `URL out of the repository in code: ${url}`);
  };
  // Code spans may run over a line break, so prose is read a paragraph at a time.
  const paragraphs: Line[][] = [];
  let current: Line[] = [];
  for (const line of lines(text)) {
    if (line.code) codeUrl(line.n, line.text);
    if (line.code || line.text.trim() === '') {
      if (current.length > 0) paragraphs.push(current);
      current = [];
    } else current.push(line);
  }
  if (current.length > 0) paragraphs.push(current);
  for (const paragraph of paragraphs) {
    const first = (paragraph[0] as Line).n;
    const joined = paragraph.map((l) => l.text).join('\n');
    const blanked = joined.replace(
      /(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g,
      (all: string, _t, body: string, offset: number) => {
        codeUrl(first + (joined.slice(0, offset).match(/\n/g)?.length ?? 0), body.replace(/\n/g, ' '));
        return ` ${'\n'.repeat(all.match(/\n/g)?.length ?? 0)}`;
      },
    );
    blanked.split('\n').forEach((prose, i) => {
      const n = first + i;
      const targets: string[] = [];
      for (const m of prose.matchAll(/!?\[(?:[^\]]|\](?!\())*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+["'(][^)]*)?\)/g))
        targets.push((m[1] as string).replace(/^<|>$/g, ''));
      const def = /^ {0,3}\[[^\]]+\]:\s*(\S+)/.exec(prose);
      if (def) targets.push(def[1] as string);
      for (const m of prose.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi)) targets.push(m[1] as string);
      const bare = prose.replace(/!?\[(?:[^\]]|\](?!\())*\]\([^)]*\)/g, ' ');
      for (const url of bare.match(URL_RE) ?? []) if (!targets.includes(url)) targets.push(url);
      for (const target of targets) {
        const problem = checkTarget(root, file, target);
        if (problem) at(n, problem);
      }
    });
  }
  return problems;
}

function checkTarget(root: string, file: string, target: string): string | undefined {
  if (target === '') return 'empty link';
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return `link out of the repository: ${target}`;
  if (target.startsWith('/')) return `absolute link (use a relative one): ${target}`;
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const path = pathPart === '' ? join(root, file) : resolve(root, dirname(file), pathPart);
  const rel = relative(root, path);
  if (rel.startsWith('..') || resolve(root, rel) !== path) return `link out of the repository: ${target}`;
  if (!existsSync(path)) return `no such file: ${target}`;
  if (anchor === undefined) return undefined;
  if (!path.endsWith('.md') || statSync(path).isDirectory())
    return `anchor on a file that is not Markdown: ${target}`;
  if (!headingSlugs(readFileSync(path, 'utf8')).has(anchor))
    return `no heading #${anchor} in ${rel.split(sep).join('/')}: ${target}`;
  return undefined;
}

test('every link and image in the documentation resolves inside the repository, anchors included', () => {
  const files = documentationFiles(ROOT);
  for (const f of [
    'README.md',
    'docs/index.md',
    'packages/client/README.md',
    'packages/client/REACT_NATIVE.md',
  ])
    assert.ok(files.includes(f), `${f} is checked`);
  const problems = files.flatMap((f) => problemsOf(ROOT, f));
  assert.deepEqual(problems, []);
});

test('every page under docs/ is reachable from docs/index.md', () => {
  const index = readFileSync(join(ROOT, 'docs', 'index.md'), 'utf8');
  const linked = new Set(
    [...index.matchAll(/\]\(([^)#]+\.md)(?:#[^)]*)?\)/g)].map((m) => resolve(ROOT, 'docs', m[1] as string)),
  );
  const pages = documentationFiles(ROOT).filter((f) => f.startsWith('docs/') && f !== 'docs/index.md');
  assert.deepEqual(
    pages.filter((p) => !linked.has(resolve(ROOT, p))),
    [],
  );
});

test('the README stays a front door of at most about 150 lines', () => {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;
  assert.ok(lines <= 150, `README.md has ${lines} lines`);
});

test('the checker fails on each kind of broken link (so a pass means something)', () => {
  const root = mkdtempSync(join(tmpdir(), 'charter-docs-links-'));
  try {
    mkdirSync(join(root, 'docs', 'screenshots'), { recursive: true });
    writeFileSync(join(root, 'docs', 'screenshots', 'a.png'), '');
    writeFileSync(
      join(root, 'docs', 'b.md'),
      "# B page\n\n## The customer's own `x+y` — thing\n\n## Dup\n\n## Dup\n",
    );
    const good = [
      '[b](b.md) [top](b.md#b-page) [h](b.md#the-customers-own-xy--thing) [d](b.md#dup-1) [self](#here)',
      '![shot](screenshots/a.png) [dir](screenshots/) [readme](../README.md)',
      '`curl http://127.0.0.1:8443/x` `https://api.hospital-a.example/` `http://HOST:PORT/`',
      '```sh\ncurl https://orders.beta.example/ http://localhost:1/ https://android.googleapis.com/attestation/status\n```',
      'a span over a line break: `charter\ngateway start` on `http://127.0.0.1:PORT2`',
      '## Here',
    ];
    writeFileSync(join(root, 'README.md'), '# R\n');
    writeFileSync(join(root, 'docs', 'good.md'), `${good.join('\n\n')}\n`);
    assert.deepEqual(problemsOf(root, 'docs/good.md'), []);
    const bad: Record<string, RegExp> = {
      '[x](missing.md)': /no such file: missing\.md/,
      '![x](screenshots/none.png)': /no such file/,
      '[x](b.md#nope)': /no heading #nope in docs\/b\.md/,
      '[x](b.md#dup-2)': /no heading #dup-2/,
      '[x](#nowhere)': /no heading #nowhere in docs\/bad\.md/,
      '[x](../../outside.md)': /out of the repository/,
      '[x](https://github.com/)': /link out of the repository/,
      'see https://example.org/page for more': /link out of the repository/,
      '<https://example.com/>': /link out of the repository/,
      '[ref]: http://127.0.0.1:1/': /link out of the repository/,
      '`curl https://evil.example.net.attacker.io/`': /URL out of the repository in code/,
      '```\nwget https://registry.npmjs.org/x\n```': /URL out of the repository in code/,
      '[x](screenshots/a.png#frag)': /not Markdown/,
    };
    for (const [markdown, expected] of Object.entries(bad)) {
      writeFileSync(join(root, 'docs', 'bad.md'), `# Bad\n\n${markdown}\n`);
      const problems = problemsOf(root, 'docs/bad.md');
      assert.equal(problems.length, 1, `${markdown}: ${problems.join('; ')}`);
      assert.match(problems[0] as string, expected, markdown);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
