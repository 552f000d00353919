/** The vendor admin's part of the portal: one screen per route (sites, people, reports, record). */
import { useEffect, useRef } from 'react';
import { useOverview } from './admin/data.ts';
import { People } from './admin/People.tsx';
import { Record } from './admin/Record.tsx';
import { Reports } from './admin/Reports.tsx';
import { Sites } from './admin/Sites.tsx';

/** The admin's part of the portal. */
export function Admin(props: { route: string[] }) {
  const [data, reload] = useOverview();
  // Each screen shows fresh data (reports uploaded on one change what another shows); `screen` is the trigger.
  const screen = props.route[0];
  const first = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `screen` is the trigger: moving to another screen reloads the data
  useEffect(() => {
    if (first.current) first.current = false;
    else reload();
  }, [screen, reload]);
  if (!data) return <p>Loading…</p>;
  if (props.route[0] === 'reports') return <Reports data={data} />;
  if (props.route[0] === 'record') return <Record />;
  if (props.route[0] === 'people') return <People data={data} reload={reload} />;
  return <Sites data={data} reload={reload} />;
}
