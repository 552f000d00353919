/** The console shell: session, navigation, the two live regions, and the current screen. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, setCsrf } from '../../shared/src/api.ts';
import { go, SignInForm, StatusContext, useRoute } from '../../shared/src/ui.tsx';
import { API } from './paths.ts';
import { Activity } from './screens/Activity.tsx';
import { Instances } from './screens/Instances.tsx';
import { LicenseScreen } from './screens/LicenseScreen.tsx';
import { Overview } from './screens/Overview.tsx';
import { Refusals } from './screens/Refusals.tsx';

interface SessionInfo {
  user: { id: string; email: string };
  csrf: string;
  site_id: string;
}

const NAV = [
  { path: 'overview', label: 'Overview' },
  { path: 'refusals', label: 'Refusals' },
  { path: 'instances', label: 'Instances' },
  { path: 'license', label: 'License & reports' },
  { path: 'audit', label: 'Audit log' },
];

/** The whole console. */
export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [status, setStatus] = useState<{ text: string; kind: 'ok' | 'error'; n: number }>({
    text: '',
    kind: 'ok',
    n: 0,
  });
  const route = useRoute();
  const mainRef = useRef<HTMLElement>(null);
  const announce = useCallback(
    (text: string, kind: 'ok' | 'error' = 'ok') => setStatus((s) => ({ text, kind, n: s.n + 1 })),
    [],
  );

  useEffect(() => {
    api
      .get<SessionInfo>(`${API}/session`)
      .then((s) => {
        setCsrf(s.csrf);
        setSession(s);
      })
      .catch(() => setSession(null));
  }, []);

  // Focus the main region on navigation so keyboard and screen-reader users land on the new screen.
  const routeKey = route.join('/');
  useEffect(() => {
    if (routeKey) mainRef.current?.focus();
  }, [routeKey]);

  const signOut = async () => {
    try {
      await api.del(`${API}/session`);
    } finally {
      setSession(null);
      go('');
      announce('Signed out.');
    }
  };

  if (session === undefined) return <p className="loading">Loading…</p>;
  const current = route[0] ?? 'overview';

  return (
    <StatusContext.Provider value={announce}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          Charter <span className="muted">gateway console{session ? ` · site ${session.site_id}` : ''}</span>
        </div>
        {session && (
          <div className="who">
            <span>
              {session.user.email} <span className="role">(operator)</span>
            </span>
            <button type="button" className="link" onClick={signOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      {session && (
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.path}>
                <a href={`#/${n.path}`} aria-current={current === n.path ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <div className="status status-ok" role="status" aria-live="polite">
        {status.kind === 'ok' ? status.text : ''}
      </div>
      <div className="status status-error" role="alert" aria-live="assertive">
        {status.kind === 'error' ? status.text : ''}
      </div>
      <main id="main" ref={mainRef} tabIndex={-1}>
        {!session ? (
          <SignIn
            onSignedIn={(s) => {
              setCsrf(s.csrf);
              setSession(s);
              go('overview');
              announce(`Signed in as ${s.user.email}.`);
            }}
          />
        ) : current === 'refusals' ? (
          <Refusals />
        ) : current === 'instances' ? (
          <Instances />
        ) : current === 'license' ? (
          <LicenseScreen />
        ) : current === 'audit' ? (
          <Activity />
        ) : (
          <Overview />
        )}
      </main>
    </StatusContext.Provider>
  );
}

function SignIn(props: { onSignedIn: (s: SessionInfo) => void }) {
  return (
    <SignInForm<SessionInfo>
      endpoint={`${API}/session`}
      hint={
        <>
          Operators are added on the gateway host with <code>charter gateway user add</code>.
        </>
      }
      onSignedIn={props.onSignedIn}
    />
  );
}
