/**
 * The web apps and where their builds live. Kept apart from build.ts so that serving an app that is
 * already built never loads Vite (which is a development dependency).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The apps this package builds; each is a folder beside src/ with index.html and src/. */
export const APPS = ['portal', 'console'] as const;

/** One app's name. */
export type AppName = (typeof APPS)[number];

/** The package folder. */
export const WEB_DIR = join(import.meta.dirname, '..');

/** The URL path each app is served under (the console lives inside the gateway, at /charter/admin/). */
export const APP_BASE: Record<AppName, string> = { portal: '/', console: '/charter/admin/' };

/** Where an app's built files live. */
export function distDir(app: AppName): string {
  return join(WEB_DIR, 'dist', app);
}

/** The app's dist folder, building it first (with Vite, loaded only then) when missing or when `force`. */
export async function ensureBuilt(app: AppName, options: { force?: boolean } = {}): Promise<string> {
  const target = distDir(app);
  if (options.force || !existsSync(join(target, 'index.html'))) {
    const { buildApp } = await import('./build.ts');
    await buildApp(app);
  }
  return target;
}
