/** The portal's submission pieces: a status badge and what an uploaded binary says. */

/** A submission or app status as a coloured, labelled badge. */
export function Badge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

/** Binary facts compared with the declaration: each field flagged when they differ. */
export function BinaryChecks(props: {
  binary: {
    filename: string;
    sha256: string;
    facts: Record<string, unknown>;
    checks: { field: string; declared: string | null; found: string | null; match: boolean }[];
  };
}) {
  const b = props.binary;
  const mismatches = b.checks.filter((c) => !c.match).length;
  return (
    <section className="binary" aria-label={`What ${b.filename} says`}>
      <h4>
        What <code>{b.filename}</code> says ({String(b.facts.kind).toUpperCase()})
        {mismatches > 0 ? (
          <span className="flag flag-bad">
            {' '}
            {mismatches} mismatch{mismatches > 1 ? 'es' : ''}
          </span>
        ) : (
          <span className="flag flag-ok"> matches the submission</span>
        )}
      </h4>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Declared</th>
              <th scope="col">In the binary</th>
              <th scope="col">Check</th>
            </tr>
          </thead>
          <tbody>
            {b.checks.map((c) => (
              <tr key={`${c.field}-${c.found}`} className={c.match ? '' : 'row-bad'}>
                <th scope="row">{c.field}</th>
                <td>
                  <code className="wrap">{c.declared ?? '—'}</code>
                </td>
                <td>
                  <code className="wrap">{c.found ?? '—'}</code>
                </td>
                <td>{c.match ? '✓ match' : '✗ Mismatch'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="hint">
        File SHA-256 <code className="wrap">{b.sha256}</code>. Read from the file, not verified: signatures
        are checked by apksigner/codesign and, at run time, by attestation.
      </p>
    </section>
  );
}
