/** The SDK must bundle for browsers: no `node:` module may be reachable from its entry. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';

test('the client SDK bundles for the browser with no Node built-ins', async () => {
  const result = await build({
    entryPoints: [join(import.meta.dirname, '..', 'src', 'index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(!inputs.some((f) => f.startsWith('node:')), inputs.join(', '));
  assert.ok(inputs.some((f) => f.endsWith('core/src/errors.ts')));
  assert.ok(!inputs.some((f) => f.endsWith('core/src/index.ts')), 'the whole of core was pulled in');
  const size = result.outputFiles[0]?.contents.length ?? 0;
  assert.ok(size < 64 * 1024, `bundle is ${size} bytes`);
});
