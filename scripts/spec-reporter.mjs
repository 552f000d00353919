// The spec reporter without Node's coverage table: with coverage on, scripts/test.mjs prints one
// line per package instead of a table of every file.
import { Readable } from 'node:stream';
import { spec } from 'node:test/reporters';

async function* withoutCoverage(source) {
  for await (const event of source) if (event.type !== 'test:coverage') yield event;
}

export default async function* specWithoutCoverage(source) {
  yield* Readable.from(withoutCoverage(source), { objectMode: true }).pipe(new spec());
}
