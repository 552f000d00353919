/** `npm run build -w @charter/web`: rebuild every app (the server otherwise builds on first start). */
import { APPS } from './apps.ts';
import { buildApp } from './build.ts';

for (const app of APPS) process.stdout.write(`built ${await buildApp(app)}\n`);
