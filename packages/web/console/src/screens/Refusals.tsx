/** The refusals screen: refusals by code and the latest refused requests, from the audit chain. */
import { when } from '../../../shared/src/api.ts';
import { BarChart, Table } from '../../../shared/src/ui.tsx';
import { API } from '../paths.ts';
import { usePoll } from './poll.ts';

interface RefusalRow {
  seq: number;
  at: number;
  kind: 'refusal' | 'monitor';
  endpoint?: string;
  code: string;
  detail?: string;
  app_id?: string;
  instance_id?: string;
}

/** Refusals by code and the latest refused requests, from the audit chain. */
export function Refusals() {
  const [r] = usePoll<{
    by_code: { code: string; refused: number; monitored: number }[];
    latest: RefusalRow[];
  }>(`${API}/refusals`, 15_000);
  if (!r) return <p className="loading">Loading…</p>;
  return (
    <>
      <h1>Refusals</h1>
      {r.by_code.length === 0 ? (
        <p>Nothing has been refused.</p>
      ) : (
        <BarChart
          title="Refusals by code"
          series={['refused', 'monitored (let through)']}
          bars={r.by_code.map((c) => ({
            label: c.code,
            values: [
              { name: 'refused', value: c.refused },
              { name: 'monitored', value: c.monitored },
            ],
          }))}
        />
      )}
      <h2>Latest refused requests</h2>
      <Table
        head={['When', 'Code', 'Reason', 'Endpoint', 'App', 'Instance']}
        rows={r.latest}
        rowKey={(x) => x.seq}
        row={(x) => (
          <>
            <td>{when(x.at)}</td>
            <td>
              <code>{x.code}</code>
              {x.kind === 'monitor' && <span className="block muted">monitored</span>}
            </td>
            <td>
              <code className="wrap">{x.detail ?? '—'}</code>
            </td>
            <td>{x.endpoint ?? '—'}</td>
            <td>
              <code className="wrap">{x.app_id ?? '—'}</code>
            </td>
            <td>
              <code className="wrap">{x.instance_id ?? '—'}</code>
            </td>
          </>
        )}
      />
    </>
  );
}
