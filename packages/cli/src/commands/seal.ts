/**
 * `charter vendor seal-gateway --out DIR`: a self-contained gateway build. esbuild bundles the
 * gateway's commands into one file (DIR/lib/charter-gateway.mjs) with the vendor's root public keys
 * compiled in; native modules stay external and are copied into DIR/node_modules; the vendor signs a
 * manifest of every file's SHA-256 (DIR/manifest.jwt), which the build checks at each start.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CharterError } from '@charter/core';
import { GATEWAY_VERSION, hashFile, listBuildFiles, MANIFEST_FILE } from '@charter/gateway';
import { signBuildManifest } from '@charter/issuer';
import { type CommandSpec, requireFlag } from '../command.ts';
import { openVendor } from '../context.ts';

const ENTRY = fileURLToPath(new URL('../sealed-main.ts', import.meta.url));
const SEALED_BUILD_MODULE = /[\\/]gateway[\\/]src[\\/]sealed-build\.ts$/;

/** Native packages: left out of the bundle, copied whole (only what loading them needs). */
const NATIVE: Record<string, string[]> = {
  'better-sqlite3': ['package.json', 'lib', 'build/Release/better_sqlite3.node', 'LICENSE'],
  bindings: ['package.json', 'bindings.js', 'LICENSE.md'],
  'file-uri-to-path': ['package.json', 'index.js', 'LICENSE'],
};

/** Optional modules that packages only try to load (pg-native, cbor-extract, …): never in a build. */
const OPTIONAL_EXTERNAL = ['pg-native', 'cbor-extract', 'cloudflare:sockets'];

const LAUNCHER = `#!/usr/bin/env node
// The sealed Charter gateway: \`charter-gateway start --home G --license FILE --upstream URL --listen HOST:PORT\`.
import('../lib/charter-gateway.mjs');
`;

function copyNative(dir: string): void {
  const require = createRequire(import.meta.url);
  for (const [name, parts] of Object.entries(NATIVE)) {
    const from = dirname(require.resolve(`${name}/package.json`));
    const to = join(dir, 'node_modules', name);
    for (const part of parts) {
      if (!existsSync(join(from, part))) continue;
      mkdirSync(dirname(join(to, part)), { recursive: true });
      cpSync(join(from, part), join(to, part), { recursive: true });
    }
  }
}

/** `charter vendor seal-gateway`. */
export const sealGateway: CommandSpec = {
  path: ['vendor', 'seal-gateway'],
  summary: 'build a sealed gateway: one bundled file with the root public key inside, and a signed manifest',
  flags: { out: { type: 'string', description: 'a new (or empty) folder for the build', value: 'DIR' } },
  help:
    'Run it as DIR/bin/charter-gateway start --home G --license FILE --upstream URL --listen HOST:PORT\n' +
    '(only node on PATH). It reports integrity "sealed" while every file matches the manifest, and\n' +
    '"unsealed" after any change. The manifest is signed with the license key, never the root.',
  async run({ flags, io }) {
    const dir = resolve(requireFlag(flags, 'out'));
    if (existsSync(dir) && readdirSync(dir).length > 0)
      throw new CharterError('conflict', 'ERR_OUT_NOT_EMPTY', `${dir} is not empty: choose a new folder`);
    const vendor = openVendor(flags, io);
    const trust = vendor.trustDocument();
    let esbuild: typeof import('esbuild');
    try {
      esbuild = await import('esbuild');
    } catch {
      throw new CharterError(
        'key_unavailable',
        'ERR_NO_BUNDLER',
        'sealing needs esbuild, a development dependency: run `npm ci` without --omit=dev',
      );
    }
    mkdirSync(join(dir, 'bin'), { recursive: true });
    mkdirSync(join(dir, 'lib'), { recursive: true });
    await esbuild.build({
      entryPoints: [ENTRY],
      outfile: join(dir, 'lib', 'charter-gateway.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: [...Object.keys(NATIVE), ...OPTIONAL_EXTERNAL],
      // CommonJS dependencies call require() for Node's built-ins; an ES module has none of its own.
      banner: {
        js: "import { createRequire as __charterRequire } from 'node:module';\nconst require = __charterRequire(import.meta.url);",
      },
      legalComments: 'none',
      logLevel: 'silent',
      plugins: [
        {
          name: 'charter-sealed-trust',
          setup(b) {
            b.onLoad({ filter: SEALED_BUILD_MODULE }, () => ({
              contents: `export const SEALED_TRUST_DOCUMENT = ${JSON.stringify(trust)};\n`,
              loader: 'js',
            }));
          },
        },
      ],
    });
    writeFileSync(join(dir, 'bin', 'charter-gateway'), LAUNCHER);
    chmodSync(join(dir, 'bin', 'charter-gateway'), 0o755);
    // The launcher is CommonJS wherever DIR is placed (a parent package.json could say "module").
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: 'charter-gateway-sealed', private: true, type: 'commonjs' }, null, 2)}\n`,
    );
    copyNative(dir);
    const files: Record<string, string> = {};
    for (const path of [...listBuildFiles(dir), 'package.json']) files[path] = hashFile(join(dir, path));
    const { manifest, build_id } = await signBuildManifest(vendor, {
      files,
      gatewayVersion: GATEWAY_VERSION,
    });
    writeFileSync(join(dir, MANIFEST_FILE), manifest);
    const bin = join(dir, 'bin', 'charter-gateway');
    return {
      json: { build_id, dir, bin, files: Object.keys(files).length, vendor_id: trust.vendor_id },
      text: [
        `Sealed gateway ${build_id} (${Object.keys(files).length} files, root keys of ${trust.vendor_id} inside) in ${dir}.`,
        `Run: ${bin} start --home G --license FILE --upstream URL --listen HOST:PORT`,
      ].join('\n'),
    };
  },
};
