/**
 * Reachability of a network backend (PostgreSQL, Redis) as last observed by the store or cache that
 * uses it. Transitions are logged once each way, so an outage is one error line and one recovery
 * line rather than one line per refused request; metrics and `/charter/readyz` read the same flag.
 */
import type { Logger } from 'pino';

/** The network backends a gateway may depend on. */
export type BackendName = 'postgres' | 'redis';

/** Up or down, with the transition logged. */
export class BackendStatus {
  readonly backend: BackendName;
  #up = true;
  readonly #logger: Logger | undefined;

  constructor(backend: BackendName, logger?: Logger) {
    this.backend = backend;
    this.#logger = logger;
  }

  /** Whether the last operation (or connection event) succeeded. */
  get up(): boolean {
    return this.#up;
  }

  /** An operation succeeded: the backend is reachable. */
  ok(): void {
    if (this.#up) return;
    this.#up = true;
    this.#logger?.info({ backend: this.backend }, `${this.backend} is reachable again`);
  }

  /** The backend could not be reached: requests that need it are refused with `unavailable`. */
  failed(cause: unknown): void {
    if (!this.#up) return;
    this.#up = false;
    this.#logger?.error(
      { backend: this.backend, reason: cause instanceof Error ? cause.message : String(cause) },
      `${this.backend} is unreachable: requests that need it fail closed (503 unavailable)`,
    );
  }
}

/** Implemented by the stores and caches backed by a network service. */
export interface HasBackendStatus {
  readonly backendStatus: BackendStatus;
}

/** The {@link BackendStatus} of a store or cache, if it has one. */
export function backendStatusOf(x: object): BackendStatus | undefined {
  const s = (x as Partial<HasBackendStatus>).backendStatus;
  return s instanceof BackendStatus ? s : undefined;
}
