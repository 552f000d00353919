/** @charter/web — the browser apps (the vendor portal and the gateway console): where they are built, and building them. */
export { APP_BASE, APPS, type AppName, distDir, ensureBuilt, WEB_DIR } from './apps.ts';
