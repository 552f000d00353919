/**
 * What every portal route works with: the vendor records (through the issuer's facade), the accounts,
 * and the role gate. Each route names the roles it allows and acts through a {@link Vendor} whose
 * actor is the signed-in user (email and role), so the decision record says who decided.
 */
import { refuse, signedIn } from '@charter/accounts/fastify';
import { CharterError, parseDuration } from '@charter/core';
import {
  actorName,
  type PortalSession,
  type PortalUser,
  type Role,
  type Users,
  Vendor,
  type VendorDb,
  type VouchedLookup,
} from '@charter/issuer';
import type { FastifyRequest } from 'fastify';

/** The portal's state, shared by its route files. */
export interface PortalContext {
  db: VendorDb;
  users: Users;
  /** The vendor attester's records, when given: report verification then lists unvouched instances. */
  attester?: VouchedLookup;
  /** Reads, and writes with the portal itself as the actor. */
  reader: Vendor;
  /** The engine acting as the signed-in user. */
  vendorFor(s: PortalSession): Vendor;
  /** The session's user, refusing when signed out or of another role. */
  require(req: FastifyRequest, roles: readonly Role[]): PortalSession;
}

/** The context over an open vendor database. */
export function portalContext(db: VendorDb, users: Users, attester?: VouchedLookup): PortalContext {
  return {
    db,
    users,
    attester,
    reader: new Vendor(db, { name: 'portal' }),
    vendorFor: (s) => new Vendor(db, { name: actorName(s.user) }),
    require(req, roles) {
      const s = signedIn<PortalUser>(req);
      if (!roles.includes(s.user.role)) refuse('forbidden', `this needs the ${roles.join(' or ')} role`);
      return s;
    },
  };
}

/** A duration like `180d` of at most `max` seconds, or `invalid_request` ERR_TTL. */
export function ttl(text: string, max: number): number {
  const s = parseDuration(text);
  if (s === undefined || s <= 0)
    throw new CharterError(
      'invalid_request',
      'ERR_TTL',
      `${JSON.stringify(text.slice(0, 40))} is not a duration like 180d`,
    );
  if (s > max) throw new CharterError('invalid_request', 'ERR_TTL', 'that duration is too long');
  return s;
}
