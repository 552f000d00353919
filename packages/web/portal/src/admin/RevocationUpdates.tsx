/** Revocation updates for the sites that are behind, in one click, with their downloads. */
import { useState } from 'react';
import { api, messageOf, when } from '../../../shared/src/api.ts';
import { Table, useAnnounce } from '../../../shared/src/ui.tsx';
import type { RevocationStatus } from './data.ts';

/**
 * Revocation updates: one click signs a `charter-revocations+jwt` for every site whose latest license
 * or update lacks a revocation; the table says, from the sites' usage reports, which have installed it.
 */
export function RevocationUpdates({ status, reload }: { status: RevocationStatus[]; reload: () => void }) {
  const announce = useAnnounce();
  const [busy, setBusy] = useState(false);
  const behind = status.filter((s) => s.behind);
  const issue = async () => {
    setBusy(true);
    try {
      const r = await api.post<{ updates: { site_id: string; serial: number }[] }>(
        '/api/admin/revocations/updates',
        {},
      );
      announce(
        `Revocation updates issued for ${r.updates.length} site(s). Download each and install it at the site (charter gateway license install, or the console's upload).`,
      );
      reload();
    } catch (err) {
      announce(messageOf(err), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="rvu-h">
      <h2 id="rvu-h">Revocation updates</h2>
      <p className="hint">
        A signed update carries every revocation to a site at once, without changing its license; the site
        installs it like a license. Sites behind: {behind.length}.
      </p>
      <button type="button" className="danger" disabled={busy || behind.length === 0} onClick={issue}>
        Issue revocation updates to {behind.length} site(s) behind
      </button>
      <Table
        head={['Site', 'License', 'Revocations', 'Latest update', 'Installed (from reports)', 'File']}
        rows={status.filter((s) => s.latest_license_serial !== null)}
        rowKey={(s) => s.site_id}
        row={(s) => (
          <>
            <th scope="row">{s.name}</th>
            <td>{s.latest_license_serial}</td>
            <td>
              {s.behind ? <span className="flag flag-bad">behind: {s.missing} missing</span> : 'up to date'}
            </td>
            <td>{s.update ? `serial ${s.update.serial}, until ${when(s.update.exp)}` : 'none'}</td>
            <td data-testid={`installed-${s.site_id}`}>
              {s.installed === null
                ? '—'
                : s.installed
                  ? 'installed'
                  : `not yet (reported ${s.reported_serial === null ? 'nothing' : `serial ${s.reported_serial}`})`}
            </td>
            <td>
              {s.update && (
                <a
                  href={`/api/admin/revocations/updates/${encodeURIComponent(s.update.revocations_id)}/download`}
                  download
                >
                  Download <span className="sr-only">revocation update for {s.name}</span>
                </a>
              )}
            </td>
          </>
        )}
      />
    </section>
  );
}
