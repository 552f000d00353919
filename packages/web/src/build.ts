/**
 * Building the web apps with Vite's JS API. Each app is a folder beside src/ (`portal/`,
 * `console/`) with an index.html and `src/`; it builds to `dist/<app>`. The server builds on first
 * start when the output is missing, so `npm ci` stays the only install step and nothing built is
 * committed.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import react from '@vitejs/plugin-react';
import { build, type InlineConfig } from 'vite';
import { APP_BASE, type AppName, distDir, WEB_DIR as WEB } from './apps.ts';

/** The Vite configuration of one app (also used by vite.config.ts for `vite dev`). */
export function viteConfig(app: AppName, outDir = distDir(app)): InlineConfig {
  return {
    configFile: false,
    root: join(WEB, app),
    base: APP_BASE[app],
    logLevel: 'warn',
    plugins: [react()],
    build: {
      outDir,
      emptyOutDir: true,
      sourcemap: false,
      // Inline assets would need `data:` in more CSP directives; keep every asset a file.
      assetsInlineLimit: 0,
    },
  };
}

/** Build an app into dist/<app>, atomically: a concurrent build or reader never sees half a folder. */
export async function buildApp(app: AppName): Promise<string> {
  const target = distDir(app);
  const temp = join(WEB, 'dist', `.${app}-${process.pid}-${Date.now()}`);
  mkdirSync(join(WEB, 'dist'), { recursive: true });
  try {
    await build(viteConfig(app, temp));
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(temp, target);
    } catch (e) {
      // Another process finished first: its output is as good as ours.
      if (!existsSync(join(target, 'index.html'))) throw e;
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return target;
}
