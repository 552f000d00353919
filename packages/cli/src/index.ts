/** @charter/cli — the `charter` executable, callable in-process (tests, the first-run demo). */

export { type CapturedRun, runCaptured } from './capture.ts';
export type { CommandSpec, Io, Output } from './command.ts';
export { main } from './main.ts';
