/**
 * Route config of the portal's sign-in route: its requests need the Origin check only, as there is
 * no session (hence no CSRF token) yet. Every other state-changing request needs both; the portal's
 * hook decides on the route the router matched, never on the URL as sent.
 */
export const SIGN_IN_ROUTE = { portalCsrf: 'origin-only' } as const;
