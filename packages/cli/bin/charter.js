#!/usr/bin/env node
// The packages ship TypeScript sources; tsx compiles them on load so that `npx charter` works right
// after `npm ci` with no build step. The sealed gateway (vendor seal-gateway) is pre-bundled instead.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
