/** Decision events: what the engine decided per request, for in-process observers such as the admin console. */

/** One decision: when, which endpoint, which app (if known), the outcome and the refusal code(s). */
export interface DecisionEvent {
  at: number;
  endpoint: 'challenge' | 'register' | 'token' | 'protected' | 'client_attestation';
  app_id: string | undefined;
  instance_id: string | undefined;
  outcome: 'admitted' | 'monitored' | 'refused';
  /** Refusal codes (the refusal, or what monitor mode let through). */
  codes: string[];
}

/** An observer of decisions; it must be fast and must not throw (it runs on the request path). */
export type DecisionListener = (event: DecisionEvent) => void;
