/** The admin's record screen: the vendor's decision record, newest first. */
import { useEffect, useState } from 'react';
import { api, messageOf, when } from '../../../shared/src/api.ts';
import { Table, useAnnounce } from '../../../shared/src/ui.tsx';

export function Record() {
  const announce = useAnnounce();
  const [events, setEvents] = useState<
    { seq: number; at: number; actor: string; action: string; subject: string }[]
  >([]);
  useEffect(() => {
    api
      .get<{ events: typeof events }>('/api/admin/events')
      .then((r) => setEvents(r.events))
      .catch((e) => announce(messageOf(e), 'error'));
  }, [announce]);
  return (
    <section>
      <h1>Record</h1>
      <p className="muted">Every decision and sign-in, newest first.</p>
      <Table
        head={['#', 'When', 'Who', 'Action', 'Subject']}
        rows={events}
        rowKey={(e) => e.seq}
        row={(e) => (
          <>
            <td>{e.seq}</td>
            <td>{when(e.at)}</td>
            <td>{e.actor}</td>
            <td>{e.action}</td>
            <td>
              <code className="wrap">{e.subject}</code>
            </td>
          </>
        )}
      />
    </section>
  );
}
