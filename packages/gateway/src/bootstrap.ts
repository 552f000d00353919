/**
 * What an engine is built from, checked before anything runs: the options' own checks (replicas
 * need a shared cache, a local CORS list and an OAuth client map must parse), the license installed
 * or loaded and judged against the clock's high-water mark, the local mode (it may only tighten),
 * the site's token and nonce keys (created on first start), and the replay cache.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { CharterError, epochSeconds } from '@charter/core';
import { TokenAuthority } from './access-token.ts';
import type { EphemeralCache } from './cache.ts';
import { ClientAttester, oauthClientMap } from './client-attester.ts';
import { TimeGuard } from './clock.ts';
import { checkCorsNarrowing } from './cors.ts';
import type { GatewayOptions } from './gateway-options.ts';
import { type PublicBase, publicBaseOf } from './htu.ts';
import { installLicense, loadLicense, type SiteLicense } from './license.ts';
import { MemoryCache } from './memory-cache.ts';
import { NonceIssuer } from './nonce.ts';
import { StoreReplayCache } from './replay-cache.ts';
import { type CompiledRoute, compileRoutes } from './routes.ts';
import type { GatewayStore } from './store.ts';
import { isWorkersStore, WorkersCache } from './workers-cache.ts';

const TOKEN_KEY = 'token-key';
const NONCE_KEY = 'nonce-key';

/** The parts an engine is made of (gateway.ts). */
export interface EngineParts {
  license: SiteLicense;
  tokens: TokenAuthority;
  nonces: NonceIssuer;
  cache: EphemeralCache;
  base: PublicBase;
  routes: CompiledRoute[];
  guard: TimeGuard;
  attester: ClientAttester;
  oauthClients: ReadonlyMap<string, string>;
}

/**
 * Check the options and open the parts: refuses with `license_invalid` a license that does not
 * verify, has expired or rolls the serial back, and with `invalid_request` a local mode that loosens.
 */
export async function bootstrap(options: GatewayOptions): Promise<EngineParts> {
  if (options.store.sharedByReplicas && options.cache === undefined)
    // A used proof or nonce must be refused at every replica; a cache of this process's own would
    // let a second replica accept it again (and each replica would count rates alone).
    throw new CharterError(
      'invalid_request',
      'ERR_CACHE_NOT_SHARED',
      'the store is shared by replicas (PostgreSQL) but the replay cache would be this process’s own: ' +
        'add --redis redis://HOST:6379, the same for every replica (library mode: pass a RedisCache as `cache`)',
    );
  const base = publicBaseOf(options.publicUrl);
  const routes = compileRoutes(options.routes ?? []);
  if (options.corsOrigins) checkCorsNarrowing(options.corsOrigins);
  // Checked before anything is opened: a bad map refuses the start (invalid_request).
  const oauthClients = oauthClientMap(
    options.oauthClients instanceof Map
      ? Object.fromEntries(options.oauthClients)
      : (options.oauthClients ?? {}),
  );
  const guard = await TimeGuard.load(options.store, options.clock?.() ?? epochSeconds());
  const now = Math.max(options.clock?.() ?? epochSeconds(), guard.highWater());
  let license: SiteLicense;
  if (options.license !== undefined) {
    license = (await installLicense(options.license, options.trust, options.store, now)).license;
  } else {
    const record = await options.store.currentLicense();
    if (!record)
      throw new CharterError(
        'license_invalid',
        'ERR_LICENSE_NONE',
        'no license is installed; pass one with --license',
      );
    license = await loadLicense(record.token, options.trust, options.store, now);
  }
  guard.raise(license.claims.iat);
  if (options.localMode === 'monitor' && license.mode === 'enforce') {
    throw new CharterError(
      'invalid_request',
      'ERR_MODE_LOOSENS',
      'the local mode may only tighten: monitor over an enforce license is refused',
    );
  }
  const tokenKey = await options.store.secret(TOKEN_KEY, () =>
    generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }),
  );
  const nonceKey = await options.store.secret(NONCE_KEY, () => randomBytes(32));
  // Embedded: used proofs and nonces in the store, so a restart forgets none of them; workers sharing
  // the store count rates there too.
  const engineNow = () => Math.max(options.clock?.() ?? epochSeconds(), guard.highWater());
  const cache =
    options.cache ??
    (isWorkersStore(options.store) ? new WorkersCache(options.store, engineNow) : undefined) ??
    (options.store.useOnce
      ? new StoreReplayCache(
          options.store as GatewayStore & Required<Pick<GatewayStore, 'useOnce'>>,
          // The engine's time, as in the engine: the clock proofs are checked against.
          () => Math.max(options.clock?.() ?? epochSeconds(), guard.highWater()),
        )
      : new MemoryCache());
  // The embedded replay index is read from the store now, not by the first request after a restart
  // (about 2 s for a million standing records).
  if (!options.cache && options.store.useOnce) await options.store.prepareReplay?.(engineNow());
  const tokens = await TokenAuthority.create(tokenKey, base.href, `urn:charter:site:${license.siteId}`);
  const nonces = new NonceIssuer(nonceKey, cache, options.nonceTtlS);
  const attester = await ClientAttester.open(options.store);
  return { license, tokens, nonces, cache, base, routes, guard, attester, oauthClients };
}
