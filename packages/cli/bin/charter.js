#!/usr/bin/env node
// The packages ship TypeScript sources; tsx compiles them on load so that `npx charter` works right
// after `npm ci` with no build step. The sealed gateway (vendor seal-gateway) is pre-bundled instead.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
// A command that has returned is finished: if a handle still holds the event loop (a timer or
// socket some library left open after a gateway's graceful close), exit anyway rather than linger
// as an orphan that `kill $GW` already stopped serving. Unref'd, so a clean exit is not delayed.
setTimeout(() => process.exit(), 3000).unref();
