/** The license screen: install a license or revocation update, export a usage report. */
import { type FormEvent, useState } from 'react';
import { api, messageOf, when } from '../../../shared/src/api.ts';
import { Field, useAnnounce } from '../../../shared/src/ui.tsx';
import { API } from '../paths.ts';
import { usePoll } from './poll.ts';

/** Install a new license file (the same path as `charter gateway license install`) and export a usage report. */
export function LicenseScreen() {
  const [file, setFile] = useState<File | null>(null);
  const [result, setResult] = useState<string>('');
  const [report, setReport] = useState<{ url: string; filename: string; seq: number } | null>(null);
  const [busy, setBusy] = useState(false);
  const announce = useAnnounce();
  const [latest] = usePoll<{ seq: number; token?: string; filename?: string }>(`${API}/report/latest`);
  const offerLatest = async () => {
    if (!latest?.token || !latest.filename) return;
    if (report) URL.revokeObjectURL(report.url);
    const url = URL.createObjectURL(new Blob([latest.token], { type: 'application/jwt' }));
    setReport({ url, filename: latest.filename, seq: latest.seq });
  };
  const install = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    try {
      const r = await api.post<{
        kind?: 'revocations';
        serial: number;
        previous_serial: number;
        installed: boolean;
        exp: number;
        revoked?: { charters: number; apps: number; instances: number };
      }>(`${API}/license`, { license: await file.text(), filename: file.name.slice(0, 255) });
      const text =
        r.kind === 'revocations'
          ? r.installed
            ? `Revocation update ${r.serial} installed: ${r.revoked?.apps ?? 0} app(s), ${r.revoked?.charters ?? 0} charter(s) and ${r.revoked?.instances ?? 0} instance(s) revoked, in force now.`
            : `Revocation update ${r.serial} is already installed.`
          : r.installed
            ? `License serial ${r.serial} installed (was ${r.previous_serial}); in force now, expires ${when(r.exp)}.`
            : `License serial ${r.serial} is already installed.`;
      setResult(text);
      announce(text);
    } catch (err) {
      setResult('');
      announce(`License refused: ${messageOf(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  const exportReport = async () => {
    setBusy(true);
    try {
      const r = await api.post<{ seq: number; filename: string; token: string }>(`${API}/report`, {});
      if (report) URL.revokeObjectURL(report.url);
      const url = URL.createObjectURL(new Blob([r.token], { type: 'application/jwt' }));
      setReport({ url, filename: r.filename, seq: r.seq });
      announce(`Usage report ${r.seq} made: download it and send it to the vendor.`);
    } catch (err) {
      announce(messageOf(err), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h1>License &amp; reports</h1>
      <div className="cols">
        <form className="card" onSubmit={install} aria-labelledby="install-h">
          <h2 id="install-h">Install a new license</h2>
          <p className="hint">
            The same checks as <code>charter gateway license install</code>: the vendor's signature, this
            site, not expired, and a serial not below the one installed. A revocation update from the vendor
            installs here too.
          </p>
          <Field label="License file (.license)">
            {(id) => (
              <input
                id={id}
                type="file"
                accept=".license,.jwt,text/plain"
                onChange={(e) => setFile(e.target.files?.[0] ?? null)}
              />
            )}
          </Field>
          <button type="submit" disabled={!file || busy}>
            Install license
          </button>
          {result && <p className="ok-text">{result}</p>}
        </form>
        <section className="card" aria-labelledby="report-h">
          <h2 id="report-h">Usage report</h2>
          <p className="hint">
            The counts since the last report, signed by this installation and chained to the previous report
            (the same as <code>charter gateway report export</code>). Send the file to the vendor.
          </p>
          <button type="button" onClick={exportReport} disabled={busy}>
            Export a usage report
          </button>
          {!report && latest?.token && (
            <p>
              <button type="button" className="link" onClick={offerLatest}>
                Download the last report ({latest.seq}) again
              </button>
            </p>
          )}
          {report && (
            <a className="download" href={report.url} download={report.filename}>
              Download report {report.seq} ({report.filename})
            </a>
          )}
        </section>
      </div>
    </>
  );
}
