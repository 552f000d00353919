// The hooks half of load-trace.mjs (runs on the loader thread).
import { appendFileSync } from 'node:fs';

let trace;
export function initialize(data) {
  trace = data.trace;
}
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(trace, `${result.url}\n`);
  return result;
}
