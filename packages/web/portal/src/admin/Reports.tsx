/** The admin's usage reports screen: verify uploaded reports, chart usage per site and app. */
import { type FormEvent, useState } from 'react';
import { api, messageOf } from '../../../shared/src/api.ts';
import { BarChart, Field, useAnnounce } from '../../../shared/src/ui.tsx';
import type { Overview, Usage, Verdict } from './data.ts';

export function Reports({ data }: { data: Overview }) {
  const announce = useAnnounce();
  const [files, setFiles] = useState<File[]>([]);
  const [result, setResult] = useState<{ verdict: Verdict; usage: Usage; names: string[] } | null>(null);
  const siteName = (id: string) => data.sites.find((s) => s.site_id === id)?.name ?? id;
  const appName = (id: string) => data.apps.find((a) => a.app_id === id)?.name ?? id;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const reports = await Promise.all(files.map((f) => f.text()));
      const r = await api.post<{ verdict: Verdict; usage: Usage }>('/api/admin/reports', { reports });
      setResult({ ...r, names: files.map((f) => f.name) });
      announce(
        r.verdict.ok ? `${files.length} reports verified: unbroken.` : 'The reports show problems.',
        r.verdict.ok ? 'ok' : 'error',
      );
    } catch (err) {
      announce(messageOf(err), 'error');
    }
  };

  const v = result?.verdict;
  const problems = v
    ? [
        ...v.reports
          .filter((r) => r.status !== 'ok')
          .map(
            (r) =>
              `${result?.names[r.file] ?? `file ${r.file + 1}`}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`,
          ),
        ...v.gaps.map((g) => `Gap at ${siteName(g.site)}: missing report(s) ${g.missing.join(', ')}`),
        ...v.forks.map(
          (f) =>
            `Fork at ${siteName(f.site)}: ${f.hashes.length} reports share ${f.seq !== undefined ? `seq ${f.seq}` : 'one prev'}`,
        ),
        ...v.backwards.map((b) => `At ${siteName(b.site)}, report ${b.seq}: ${b.what}`),
        ...v.reactivations.map(
          (r) => `${siteName(r.site)} was activated on ${r.installations.length} installations`,
        ),
        ...v.suspect_instances.map(
          (s) =>
            `Suspect instance ${s.instance_id} of ${appName(s.app_id)} at ${siteName(s.site)}: ${s.problem}`,
        ),
        ...(v.unvouched ?? []).map(
          (u) =>
            `Never vouched for by the vendor attester: instance ${u.instance_id} of ${appName(u.app_id)} at ${siteName(u.site)}${u.jkt ? ` (key ${u.jkt})` : ''}${u.source === 'either' ? ' (the site also accepts on-site attestation)' : ''}`,
        ),
      ]
    : [];
  // Which kind of problem, told apart as `charter vendor report verify` does.
  const kind = !v
    ? undefined
    : v.ok
      ? 'ok'
      : (v.unvouched ?? []).some((u) => u.source === 'attester')
        ? 'unvouched'
        : v.suspect_instances.length > 0 && v.gaps.length + v.forks.length + v.backwards.length === 0
          ? 'suspect'
          : 'chain';
  const heading = {
    ok: 'Unbroken chain',
    unvouched: 'The site admitted instances the vendor attester never vouched for',
    suspect: 'Instances whose evidence does not hold up',
    chain: 'Report chain problems',
  }[kind ?? 'ok'];

  return (
    <section>
      <h1>Usage reports</h1>
      <form className="card inline-form" onSubmit={submit}>
        <Field
          label="Report files (charter-report+jwt)"
          hint="Select every report a site sent; order does not matter"
        >
          {(id, d) => (
            <input
              id={id}
              aria-describedby={d}
              type="file"
              multiple
              onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
            />
          )}
        </Field>
        <button type="submit" disabled={files.length === 0}>
          Verify reports
        </button>
      </form>
      {result && v && (
        <>
          <section
            className={`card verdict ${v.ok ? 'verdict-ok' : 'verdict-bad'}`}
            aria-labelledby="verdict-h"
          >
            <h2 id="verdict-h">{heading}</h2>
            <p>
              {v.reports.length} report{v.reports.length === 1 ? '' : 's'} checked.
              {kind === 'suspect' &&
                ' The instances below were most likely written into the gateway’s store by hand.'}
            </p>
            {problems.length > 0 && (
              <ul>
                {problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            )}
          </section>
          <div className="cols">
            <BarChart
              title="Requests per site"
              series={['admitted', 'denied']}
              bars={Object.entries(result.usage.sites).map(([id, u]) => ({
                label: siteName(id),
                values: [
                  { name: 'admitted', value: u.admitted },
                  { name: 'denied', value: u.denied },
                ],
              }))}
            />
            <BarChart
              title="Requests per app"
              series={['admitted', 'denied']}
              bars={Object.entries(result.usage.apps).map(([id, u]) => ({
                label: appName(id),
                values: [
                  { name: 'admitted', value: u.admitted },
                  { name: 'denied', value: u.denied },
                ],
              }))}
            />
          </div>
        </>
      )}
    </section>
  );
}
