/**
 * Canonical JSON: object keys sorted by code unit, no whitespace variance, numbers in JavaScript's
 * shortest round-trip form (deterministic for a given double), non-finite numbers refused. The
 * evaluation, manifest and claim are written this way so the same input gives byte-identical
 * files, which is what lets a verifier recompute the evaluation and compare bytes.
 */
export function canonicalJson(value: unknown, indent = 2): string {
  return write(value, indent, '') + '\n';
}

function write(v: unknown, indent: number, pad: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new RangeError('canonical JSON cannot hold a non-finite number');
      return Object.is(v, -0) ? '0' : JSON.stringify(v);
    case 'object': {
      const inner = pad + ' '.repeat(indent);
      const nl = indent > 0 ? '\n' : '';
      const sep = indent > 0 ? ': ' : ':';
      if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        return '[' + nl + v.map((x) => inner + write(x, indent, inner)).join(',' + nl) + nl + pad + ']';
      }
      const keys = Object.keys(v as object)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .sort();
      if (keys.length === 0) return '{}';
      return (
        '{' + nl + keys.map((k) => inner + JSON.stringify(k) + sep + write((v as Record<string, unknown>)[k], indent, inner)).join(',' + nl) + nl + pad + '}'
      );
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof v}`);
  }
}

/** Rounds to a fixed number of decimals so measured values print the same everywhere. */
export function roundTo(x: number, decimals: number): number {
  const f = 10 ** decimals;
  const r = Math.round(x * f) / f;
  return Object.is(r, -0) ? 0 : r;
}
