/** What the admin screens read: the overview (sites, apps, licenses, revocations, people) and report verdicts. */
import { useCallback, useEffect, useState } from 'react';
import { api, messageOf } from '../../../shared/src/api.ts';
import { useAnnounce } from '../../../shared/src/ui.tsx';

export interface Overview {
  sites: {
    site_id: string;
    name: string;
    licenses: number;
    latest_serial: number | null;
    latest_exp: number | null;
  }[];
  apps: {
    app_id: string;
    name: string;
    publisher: string;
    status: string;
    charter_id: string | null;
    charter_exp: number | null;
    revoked: boolean;
  }[];
  licenses: {
    license_id: string;
    site_id: string;
    serial: number;
    exp: number;
    apps: string[];
    mode: string;
    issued_by: string;
  }[];
  revocations: {
    id: string;
    kind: string;
    target: string;
    reason: string;
    revoked_by: string;
    revoked_at: number;
  }[];
  users: {
    id: string;
    email: string;
    role: string;
    publisher_id: string | null;
    publisher_name: string | null;
    locked_until: number;
  }[];
  publishers: { id: string; name: string; created_at: number }[];
  revocation_status: RevocationStatus[];
}

/** Where a site stands with revocations (Vendor.revocationStatus). */
export interface RevocationStatus {
  site_id: string;
  name: string;
  latest_license_serial: number | null;
  behind: boolean;
  missing: number;
  update: { revocations_id: string; serial: number; exp: number; iat: number } | null;
  reported_serial: number | null;
  installed: boolean | null;
}

export interface Verdict {
  ok: boolean;
  reports: { file: number; site?: string; seq?: number; status: string; reason?: string }[];
  gaps: { site: string; jkt: string; missing: number[] }[];
  forks: { site: string; seq?: number; hashes: string[] }[];
  backwards: { site: string; seq: number; what: string }[];
  reactivations: { site: string; installations: string[] }[];
  /** Instances whose reported evidence does not hold up (likely rows written into a store by hand). */
  suspect_instances: { site: string; instance_id: string; app_id: string; problem: string }[];
  /** Instances a site admitted that the vendor attester never vouched for (given its records). */
  unvouched?: {
    site: string;
    instance_id: string;
    app_id: string;
    jkt?: string;
    source: 'attester' | 'either';
  }[];
}

export interface Usage {
  sites: Record<string, { admitted: number; denied: number }>;
  apps: Record<string, { admitted: number; denied: number; instances: number }>;
}

export function useOverview(): [Overview | null, () => void] {
  const announce = useAnnounce();
  const [data, setData] = useState<Overview | null>(null);
  const load = useCallback(() => {
    api
      .get<Overview>('/api/admin/overview')
      .then(setData)
      .catch((e) => announce(messageOf(e), 'error'));
  }, [announce]);
  useEffect(load, [load]);
  return [data, load];
}
