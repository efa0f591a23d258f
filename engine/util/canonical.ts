/**
 * Canonical event bytes: UTF-8 JSON with object keys in sorted order, no insignificant
 * whitespace and integers only. The same value always gives the same bytes, so hashes over
 * stored bytes can be recomputed and compared without re-serializing.
 */
export type Canonical = null | boolean | number | string | Canonical[] | { [key: string]: Canonical | undefined };

export function canonicalJson(value: Canonical): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON allows safe integers only, got ${value}`);
      return String(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const keys = Object.keys(value)
        .filter((k) => value[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as Canonical)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  }
}

/**
 * Sorted-key JSON of any JSON-like value (numbers of any kind): for comparing definitions, not
 * for hashing events.
 */
export function stableJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
}
