/** What the console's screens share: polling an API path, and a local revocation as the API shows it. */
import { useCallback, useEffect, useState } from 'react';
import { api, messageOf } from '../../../shared/src/api.ts';
import { useAnnounce } from '../../../shared/src/ui.tsx';

export interface LocalRevocation {
  instance_id: string;
  at: number;
  by: string;
  reason: string;
}

/** Load `path` now and every `everyMs` (0: once); errors go to the status line. */
export function usePoll<T>(path: string, everyMs = 0): [T | undefined, () => void] {
  const [data, setData] = useState<T>();
  const announce = useAnnounce();
  const load = useCallback(() => {
    api
      .get<T>(path)
      .then(setData)
      .catch((e) => announce(messageOf(e), 'error'));
  }, [path, announce]);
  useEffect(() => {
    load();
    if (everyMs <= 0) return;
    const t = setInterval(load, everyMs);
    return () => clearInterval(t);
  }, [load, everyMs]);
  return [data, load];
}
