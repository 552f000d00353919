/**
 * The one place this package imports @charter/core: only its browser-safe error catalogue
 * (`@charter/core/errors`, no `node:` imports) and types, so the SDK bundles for browsers.
 */
import type { Platform } from '@charter/core';

export type { Platform } from '@charter/core';
export { CharterError, type ErrorCode, isErrorCode } from '@charter/core/errors';

/** The platform names of SPEC §2.1, kept here rather than imported: core's PLATFORMS lives beside node-only code. */
export const PLATFORMS = ['android', 'ios', 'web', 'server'] as const satisfies readonly Platform[];
