/**
 * The license in force over the engine's life, and the clock it is judged by: the license installed
 * or loaded at start, newer ones picked up from the store or installed through the engine, the
 * vendor's revocation updates and the operator's local revocations on top, the clock's high-water
 * mark (rollback episodes are recorded once each), and the lapse warnings. gateway.ts asks it for the
 * license of each decision.
 */
import { CharterError, type LicenseMode, type VendorTrust } from '@charter/core';
import type { Logger } from 'pino';
import type { TimeGuard } from './clock.ts';
import { androidRevocationStatus } from './hardware-attestation.ts';
import { installLicense, loadLicense, type SiteLicense } from './license.ts';
import { LocalRevocations } from './local-revocations.ts';
import type { GatewayMetrics } from './metrics.ts';
import { installRevocations, type RevocationUpdate, RevocationUpdates } from './revocation-update.ts';
import type { GatewayStore } from './store.ts';
import { COUNTER, type UsageCounters } from './usage.ts';

const DAY = 86400;

/** What the keeper needs from the engine around it. */
export interface LicenseKeeperParts {
  license: SiteLicense;
  trust: VendorTrust;
  store: GatewayStore;
  localMode: LicenseMode | undefined;
  guard: TimeGuard;
  /** The wall clock, epoch seconds. */
  wall: () => number;
  logger: Logger;
  metrics: GatewayMetrics;
  usage: UsageCounters;
}

/** The license in force, its revocations, and the clock it is judged by. */
export class LicenseKeeper {
  #license: SiteLicense;
  readonly #trust: VendorTrust;
  readonly #store: GatewayStore;
  readonly #localMode: LicenseMode | undefined;
  readonly #guard: TimeGuard;
  readonly #wall: () => number;
  readonly #logger: Logger;
  readonly #metrics: GatewayMetrics;
  readonly #usage: UsageCounters;
  /** Inside a clock rollback episode: the event is recorded once per episode, not per request. */
  #rolledBack = false;
  #lapseWarnedDay = -1;
  #polling = false;
  /** The audit write of the last rollback episode, awaited before usage is flushed. */
  pendingAudit: Promise<unknown> = Promise.resolve();
  /** Instances the operator revoked locally (admin console): refused on top of the license's revocations. */
  readonly localRevocations = new LocalRevocations();
  /** The vendor's signed revocation update, in force on top of any older license. */
  readonly revocationUpdates = new RevocationUpdates();

  constructor(parts: LicenseKeeperParts) {
    this.#license = parts.license;
    this.#trust = parts.trust;
    this.#store = parts.store;
    this.#localMode = parts.localMode;
    this.#guard = parts.guard;
    this.#wall = parts.wall;
    this.#logger = parts.logger;
    this.#metrics = parts.metrics;
    this.#usage = parts.usage;
  }

  /**
   * The engine's time: never earlier than the high-water mark, so setting the clock back cannot make
   * an expired license, charter or token valid again.
   */
  readonly now = (): number => Math.max(this.#wall(), this.#guard.highWater());

  /** The license as installed (no revocation update applied). */
  get installed(): SiteLicense {
    return this.#license;
  }

  /** The mode in force: enforce if either the license or the local setting says so. */
  get mode(): LicenseMode {
    return this.#license.mode === 'enforce' || this.#localMode === 'enforce' ? 'enforce' : 'monitor';
  }

  /** The license in force with a newer revocation update's revocations added (local ones not). */
  get license(): SiteLicense {
    return this.revocationUpdates.apply(this.#license);
  }

  /** The time high-water mark, in epoch seconds. */
  get highWater(): number {
    return this.#guard.highWater();
  }

  /** Write the high-water mark to the store. */
  persistClock(): Promise<void> {
    return this.#guard.persist();
  }

  /**
   * The license a decision is made under, or `license_invalid`: the clock checked against the mark,
   * the validity window, and every revocation (the update's and the operator's) applied.
   */
  current(): SiteLicense {
    this.checkClock();
    const l = this.#license;
    const now = this.now();
    if (now >= l.exp + l.graceS)
      throw new CharterError(
        'license_invalid',
        'ERR_LICENSE_EXPIRED',
        l.graceS > 0
          ? 'the license in force has expired and its grace period has ended'
          : 'the license in force has expired',
      );
    if (now < l.nbf - 60)
      throw new CharterError(
        'license_invalid',
        'ERR_LICENSE_NOT_YET_VALID',
        'the license in force is not valid yet',
      );
    return this.localRevocations.apply(this.revocationUpdates.apply(l));
  }

  /**
   * The clock against the high-water mark: behind by more than the license tolerates is a rollback,
   * recorded once per episode (log, metric, usage counter, audit chain); under `on_clock_rollback:
   * refuse` every decision is `license_invalid` until the clock is fixed.
   */
  checkClock(): void {
    const l = this.#license;
    const wall = this.#wall();
    const behind = this.#guard.behind(wall);
    if (behind <= l.clockToleranceS) {
      this.#rolledBack = false;
      return;
    }
    if (!this.#rolledBack) {
      this.#rolledBack = true;
      const highWater = this.#guard.highWater();
      this.#metrics.clockRollbacks.inc();
      this.#usage.add(COUNTER.rollback);
      this.#logger.warn(
        { clock: wall, high_water: highWater, behind_s: behind, policy: l.onClockRollback },
        'the clock is behind the time this gateway has already seen',
      );
      this.pendingAudit = this.#store
        .appendAudit({
          at: highWater,
          kind: 'clock',
          detail: 'ERR_CLOCK_ROLLBACK',
          ...(l.onClockRollback === 'refuse' ? { code: 'license_invalid' } : {}),
          clock: wall,
          high_water: highWater,
          license_serial: l.serial,
        })
        .catch((e: unknown) =>
          this.#logger.error(
            { reason: e instanceof Error ? e.message : String(e) },
            'audit entry not written',
          ),
        );
    }
    if (l.onClockRollback === 'refuse')
      throw new CharterError(
        'license_invalid',
        'ERR_CLOCK_ROLLBACK',
        `the clock is ${behind} s behind the latest time this gateway has seen; the license refuses service until the clock is set right`,
      );
  }

  /** The license's figures on the metrics. */
  show(): void {
    this.#metrics.licenseSerial.set(this.#license.serial);
    this.#metrics.licenseExpiry.set(this.#license.exp);
    const revocation = androidRevocationStatus(this.#license.claims, this.now());
    this.#metrics.androidRevokedSerials.set({ source: 'snapshot' }, revocation.snapshot_serials);
    this.#metrics.androidRevokedSerials.set({ source: 'license' }, revocation.license_serials);
  }

  /** A license that admits no app is legal (a site wound down, or whose only app was revoked): say so. */
  announceAdmissions(): void {
    const l = this.license;
    const admitted = [...l.apps.keys()].filter((id) => !l.revoked.apps.has(id));
    if (admitted.length === 0)
      this.#logger.warn(
        { license_serial: this.#license.serial },
        'the license in force admits no apps: every app is refused (app_not_admitted)',
      );
  }

  /**
   * Lapse warnings: once a day from 14 days before the license expires, and every day of a grace
   * period, so a running site is never stopped by surprise; the days-left gauge always.
   */
  lapseTick(): void {
    const l = this.#license;
    const now = this.now();
    const left = l.exp - now;
    this.#metrics.licenseDaysLeft.set(Math.floor((left / DAY) * 10) / 10);
    const day = Math.floor(now / DAY);
    if (left > 14 * DAY || day === this.#lapseWarnedDay) return;
    this.#lapseWarnedDay = day;
    const info = { license_serial: l.serial, exp: l.exp, grace_s: l.graceS };
    if (left > 0) {
      const days = Math.ceil(left / DAY);
      this.#logger.warn(
        info,
        days <= 1
          ? 'the license expires within a day: install the renewal (charter gateway license install)'
          : `the license expires in ${days} days: ask the vendor for the renewal`,
      );
    } else if (now < l.exp + l.graceS) {
      this.#logger.warn(
        info,
        `the license has expired; its grace period ends in ${Math.ceil((l.exp + l.graceS - now) / DAY)} day(s), then requests are refused`,
      );
    } else this.#logger.error(info, 'the license has expired: requests are refused (license_invalid)');
  }

  /** Re-read the installed revocation update; a stored one that fails to verify is logged and kept out. */
  async refreshRevocations(): Promise<boolean> {
    try {
      if (!(await this.revocationUpdates.refresh(this.#store, this.#trust))) return false;
    } catch (e) {
      this.#logger.error(
        {
          code: e instanceof CharterError ? e.code : undefined,
          reason: e instanceof Error ? e.message : String(e),
        },
        'the installed revocation update does not verify; it is not applied',
      );
      return false;
    }
    const u = this.revocationUpdates.update;
    if (u && this.revocationUpdates.appliesTo(this.#license))
      this.#logger.info(
        {
          revocations_serial: u.serial,
          license_serial: this.#license.serial,
          revoked: {
            charters: u.revoked.charters.size,
            apps: u.revoked.apps.size,
            instances: u.revoked.instances.size,
          },
        },
        'revocation update in force',
      );
    this.announceAdmissions();
    this.#metrics.revocationsSerial.set(u?.serial ?? 0);
    return true;
  }

  /**
   * Pick up a newer license from the store (installed by `gateway license install`, possibly from
   * another process). A license that fails to verify is logged and ignored; the current one stays.
   */
  async reload(): Promise<boolean> {
    if (this.#polling) return false;
    this.#polling = true;
    try {
      // True when anything in force changed, so a worker that found it can have the others reload.
      const local = await this.localRevocations.refresh(this.#store);
      const updated = await this.refreshRevocations();
      const record = await this.#store.currentLicense();
      if (!record || record.serial <= this.#license.serial) return updated || local;
      this.#license = await loadLicense(record.token, this.#trust, this.#store, this.now());
      this.#guard.raise(this.#license.claims.iat);
      this.show();
      this.#logger.info({ license_serial: this.#license.serial, mode: this.mode }, 'license reloaded');
      this.announceAdmissions();
      return true;
    } catch (e) {
      this.#logger.error(
        {
          code: e instanceof CharterError ? e.code : undefined,
          reason: e instanceof Error ? e.message : String(e),
        },
        'newer license not loaded',
      );
      return false;
    } finally {
      this.#polling = false;
    }
  }

  /** Install a license (same checks as at start) and put it in force at once. */
  async install(tokenText: string): Promise<SiteLicense> {
    const { license } = await installLicense(tokenText, this.#trust, this.#store, this.now());
    this.#guard.raise(license.claims.iat);
    if (license.serial > this.#license.serial) {
      this.#license = license;
      this.show();
      this.announceAdmissions();
    }
    return license;
  }

  /** Install a revocation update (same checks as `gateway license install`) and put it in force at once. */
  async installRevocations(
    tokenText: string,
  ): Promise<{ update: RevocationUpdate; outcome: 'installed' | 'already_installed' }> {
    const r = await installRevocations(tokenText, this.#trust, this.#store, this.now());
    await this.refreshRevocations();
    return r;
  }
}
