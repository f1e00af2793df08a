/**
 * The options the wire-protocol validators are compiled with (parse.ts): strict (a typo in a schema fails the
 * first time it is used), no defaults (the wire carries what was sent, nothing added), first
 * error only (allErrors on hostile input is wasted work), no type coercion.
 */
export const PROTOCOL_AJV_OPTIONS = { strict: true, allErrors: false, useDefaults: false, allowUnionTypes: true, coerceTypes: false } as const;
