/** The portal shell: session, navigation by role, the status line, and the current screen. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, setCsrf } from '../../shared/src/api.ts';
import { go, SignInForm, StatusContext, useRoute } from '../../shared/src/ui.tsx';
import { Admin } from './Admin.tsx';
import { Publisher } from './Publisher.tsx';
import { Reviewer } from './Reviewer.tsx';
import type { User } from './user.ts';

interface SessionInfo {
  user: User;
  csrf: string;
  vendor: string;
}

const NAV: Record<User['role'], { path: string; label: string }[]> = {
  publisher: [
    { path: 'apps', label: 'My apps' },
    { path: 'submit', label: 'Submit an app' },
  ],
  reviewer: [{ path: 'queue', label: 'Review queue' }],
  admin: [
    { path: 'sites', label: 'Sites & licenses' },
    { path: 'reports', label: 'Usage reports' },
    { path: 'people', label: 'People' },
    { path: 'record', label: 'Record' },
  ],
};

/** The whole portal. */
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
      .get<SessionInfo>('/api/session')
      .then((s) => {
        setCsrf(s.csrf);
        setSession(s);
      })
      .catch(() => setSession(null));
  }, []);

  // Move focus to the main region on navigation so keyboard and screen-reader users land on the new screen.
  const routeKey = route.join('/');
  useEffect(() => {
    if (routeKey) mainRef.current?.focus();
  }, [routeKey]);

  const signOut = async () => {
    try {
      await api.del('/api/session');
    } finally {
      setSession(null);
      go('');
      announce('Signed out.');
    }
  };

  if (session === undefined) return <p className="loading">Loading…</p>;

  const nav = session ? NAV[session.user.role] : [];
  const current = route[0] ?? nav[0]?.path ?? '';

  return (
    <StatusContext.Provider value={announce}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          Charter{' '}
          <span className="muted">{session ? `${session.vendor} vendor portal` : 'vendor portal'}</span>
        </div>
        {session && (
          <div className="who">
            <span>
              {session.user.email} <span className="role">({session.user.role})</span>
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
            {nav.map((n) => (
              <li key={n.path}>
                <a href={`#/${n.path}`} aria-current={current === n.path ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      {/* Two live regions that stay in the page, so every message is announced: polite for
          progress, assertive for refusals. */}
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
              go(NAV[s.user.role][0]?.path ?? '');
              announce(`Signed in as ${s.user.email}.`);
            }}
          />
        ) : session.user.role === 'publisher' ? (
          <Publisher route={route} user={session.user} />
        ) : session.user.role === 'reviewer' ? (
          <Reviewer route={route} />
        ) : (
          <Admin route={route} />
        )}
      </main>
    </StatusContext.Provider>
  );
}

function SignIn(props: { onSignedIn: (s: SessionInfo) => void }) {
  return <SignInForm<SessionInfo> endpoint="/api/session" onSignedIn={props.onSignedIn} />;
}
