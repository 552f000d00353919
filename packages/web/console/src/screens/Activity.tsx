/** The activity screen: verify the audit chain, and what operators did. */
import { useState } from 'react';
import { api, messageOf, when } from '../../../shared/src/api.ts';
import { Table, useAnnounce } from '../../../shared/src/ui.tsx';
import { API } from '../paths.ts';
import { usePoll } from './poll.ts';

interface AdminRow {
  seq: number;
  at: number;
  actor?: string;
  action?: string;
  detail?: string;
  instance_id?: string;
  license_serial?: number;
}

/** The audit chain: verification, and what operators did. */
export function Activity() {
  const [data, reload] = usePoll<{ chain: { ok: boolean; entries: number }; admin: AdminRow[] }>(
    `${API}/activity`,
  );
  const [verdict, setVerdict] = useState<{
    ok: boolean;
    entries: number;
    broken_at?: number;
    reason?: string;
  }>();
  const announce = useAnnounce();
  const verify = async () => {
    try {
      const r = await api.post<{ ok: boolean; entries: number; broken_at?: number; reason?: string }>(
        `${API}/audit/verify`,
        {},
      );
      setVerdict(r);
      announce(
        r.ok
          ? `The audit chain verifies: ${r.entries} entries.`
          : `The audit chain is broken at entry ${r.broken_at}: ${r.reason}.`,
        r.ok ? 'ok' : 'error',
      );
      reload();
    } catch (err) {
      announce(messageOf(err), 'error');
    }
  };
  return (
    <>
      <h1>Audit log</h1>
      <section
        className={`card ${verdict ? (verdict.ok ? 'verdict-ok' : 'verdict-bad') : ''}`}
        aria-labelledby="chain-h"
      >
        <h2 id="chain-h">Hash chain</h2>
        <p>
          Every registration, refusal, license and operator action is an entry that commits to the one before
          it: a deleted, reordered or edited entry breaks every hash after it.
        </p>
        <button type="button" onClick={verify}>
          Verify the whole chain
        </button>
        {verdict && (
          <p className={verdict.ok ? 'ok-text' : 'bad-text'}>
            {verdict.ok
              ? `✓ Verified: ${verdict.entries} entries link up.`
              : `✗ Broken at entry ${verdict.broken_at}: ${verdict.reason}.`}
          </p>
        )}
      </section>
      <h2>Operator actions</h2>
      {!data ? (
        <p className="loading">Loading…</p>
      ) : (
        <Table
          head={['#', 'When', 'Operator', 'Action', 'Detail']}
          rows={data.admin}
          rowKey={(a) => a.seq}
          row={(a) => (
            <>
              <td>{a.seq}</td>
              <td>{when(a.at)}</td>
              <td>{a.actor ?? '—'}</td>
              <td>
                <code>{a.action ?? '—'}</code>
              </td>
              <td className="detail">
                {[a.instance_id, a.license_serial !== undefined ? `serial ${a.license_serial}` : '', a.detail]
                  .filter(Boolean)
                  .join(' · ')}
              </td>
            </>
          )}
        />
      )}
    </>
  );
}
