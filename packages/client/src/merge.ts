/**
 * `{ ...defaults, ...options }`, except that an option explicitly set to
 * `undefined` keeps its default (a spread would overwrite it). Run once, at
 * construction.
 */
export function withDefaults<D extends object, O extends object>(defaults: D, options: O): D & O {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) out[k] = v;
  return out as D & O;
}
