/**
 * Prometheus metrics, in a registry of their own (not prom-client's global one) so that several
 * gateways in one process, as in tests or a host app, never collide. Labels carry only verified app
 * ids and catalogued codes; anything an attacker types would otherwise grow the label set.
 */
import { ANDROID_REVOCATION_SNAPSHOT_DATE, revocationSnapshotAgeDays } from '@charter/attest';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BackendStatus } from './backend-status.ts';

/** The gateway's metrics. */
export class GatewayMetrics {
  readonly registry: Registry;
  readonly admissions: Counter<'app_id' | 'outcome'>;
  readonly refusals: Counter<'app_id' | 'code'>;
  readonly duration: Histogram<'endpoint'>;
  readonly registrations: Counter<'app_id' | 'platform' | 'attested'>;
  readonly licenseSerial: Gauge;
  readonly revocationsSerial: Gauge;
  readonly licenseExpiry: Gauge;
  readonly licenseDaysLeft: Gauge;
  readonly integrity: Gauge<'integrity'>;
  readonly clockRollbacks: Counter;
  readonly clockHighWater: Gauge;
  readonly backendUp: Gauge<'backend'>;
  readonly androidRevocationSnapshotAge: Gauge;
  readonly androidRevokedSerials: Gauge<'source'>;
  readonly preflights: Counter<'outcome' | 'code'>;
  readonly #backends = new Set<BackendStatus>();

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.admissions = new Counter({
      name: 'charter_admissions_total',
      help: 'Admission decisions by app and outcome (admitted, monitored, refused)',
      labelNames: ['app_id', 'outcome'],
      registers,
    });
    this.refusals = new Counter({
      name: 'charter_refusals_total',
      help: 'Refusals by app and error code, including those only monitored',
      labelNames: ['app_id', 'code'],
      registers,
    });
    this.registrations = new Counter({
      name: 'charter_registrations_total',
      help: 'Instances registered, by app, platform and whether hardware attestation proved them',
      labelNames: ['app_id', 'platform', 'attested'],
      registers,
    });
    this.duration = new Histogram({
      name: 'charter_request_duration_seconds',
      help: 'Time the gateway spends deciding, by endpoint (upstream time excluded)',
      labelNames: ['endpoint'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.licenseSerial = new Gauge({
      name: 'charter_license_serial',
      help: 'Serial of the license in force',
      registers,
    });
    this.revocationsSerial = new Gauge({
      name: 'charter_revocations_serial',
      help: 'Serial of the installed revocation update (0: none)',
      registers,
    });
    this.licenseExpiry = new Gauge({
      name: 'charter_license_expiry_seconds',
      help: 'Expiry of the license in force, in seconds since the epoch',
      registers,
    });
    this.licenseDaysLeft = new Gauge({
      name: 'charter_license_days_left',
      help: 'Days until the license in force expires (negative inside its grace period)',
      registers,
    });
    this.integrity = new Gauge({
      name: 'charter_integrity',
      help: 'Build integrity: 1 on the label in force (sealed or unsealed)',
      labelNames: ['integrity'],
      registers,
    });
    this.clockRollbacks = new Counter({
      name: 'charter_clock_rollback_events_total',
      help: 'Times the clock was found behind the time high-water mark by more than the license tolerates',
      registers,
    });
    this.clockHighWater = new Gauge({
      name: 'charter_clock_high_water_seconds',
      help: 'The time high-water mark, in seconds since the epoch',
      registers,
    });
    // The bundled Android revocation snapshot ages with the build: alert on it (docs/attestation.md).
    this.androidRevocationSnapshotAge = new Gauge({
      name: 'charter_android_revocation_snapshot_age_days',
      help: `Age in days of the bundled Android attestation revocation snapshot (dated ${ANDROID_REVOCATION_SNAPSHOT_DATE}); newer revocations apply only when the license brings them`,
      registers,
      collect() {
        this.set(revocationSnapshotAgeDays());
      },
    });
    this.androidRevokedSerials = new Gauge({
      name: 'charter_android_revoked_serials',
      help: 'Revoked Android attestation certificate serials in force, by source (snapshot, license)',
      labelNames: ['source'],
      registers,
    });
    this.preflights = new Counter({
      name: 'charter_cors_preflights_total',
      help: 'CORS preflights answered by the gateway: allowed, or refused with an error code',
      labelNames: ['outcome', 'code'],
      registers,
    });
    const backends = this.#backends;
    this.backendUp = new Gauge({
      name: 'charter_backend_up',
      help: 'Whether a backing service (postgres, redis) answered the last time it was used: 1 up, 0 down',
      labelNames: ['backend'],
      registers,
      collect() {
        for (const b of backends) this.set({ backend: b.backend }, b.up ? 1 : 0);
      },
    });
  }

  /** Report `status` as `charter_backend_up{backend}`, read at each scrape. */
  watchBackend(status: BackendStatus): void {
    this.#backends.add(status);
  }

  /** The exposition text and its content type. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
