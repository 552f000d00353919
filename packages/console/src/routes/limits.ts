/** Body limits of the console's JSON routes (the license upload has its own). */

/** Route options of a JSON route: small bodies only. */
export const JSON_ONLY = { bodyLimit: 64 * 1024 } as const;
