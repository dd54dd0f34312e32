/**
 * How two warranty policies differ, in plain words: the verifier shows the package's policy as
 * "what the customer saw" and lists where it departs from the policy that decided, so a laxer copy
 * carrying the supplier's id is visible at a glance.
 */
import { canonicalJson } from '../codec/canonical-json.js';
import type { WarrantyPolicy } from './policy.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Flattens JSON into path → canonical value; clauses are keyed by their id, not their position. */
function flatten(v: Json, path: string, out: Map<string, string>): void {
  if (Array.isArray(v)) {
    const byId = v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x) && typeof (x as { id?: unknown }).id === 'string');
    if (byId && v.length) {
      for (const x of v) flatten(x, `${path}[${(x as { id: string }).id}]`, out);
    } else if (v.length === 0) out.set(path, '[]');
    else out.set(path, canonicalJson(v, 0).trimEnd());
    return;
  }
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) if (k !== '$schema') flatten(v[k]!, path ? `${path}.${k}` : k, out);
    return;
  }
  out.set(path, canonicalJson(v, 0).trimEnd());
}

/**
 * Differences from `deciding` to `seen`, one line each: "voidConditions[over-discharge-current].thresholdC:
 * the package has 20, the deciding policy 2". Empty when both are the same policy.
 */
export function policyDifferences(seen: WarrantyPolicy, deciding: WarrantyPolicy): string[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(JSON.parse(JSON.stringify(seen)) as Json, '', a);
  flatten(JSON.parse(JSON.stringify(deciding)) as Json, '', b);
  const out: string[] = [];
  for (const k of [...new Set([...b.keys(), ...a.keys()])].sort()) {
    const x = a.get(k);
    const y = b.get(k);
    if (x === y) continue;
    if (x === undefined) out.push(`${k}: missing from the package's policy (the deciding policy has ${y})`);
    else if (y === undefined) out.push(`${k}: only in the package's policy (${x})`);
    else out.push(`${k}: the package's policy has ${x}, the deciding policy ${y}`);
  }
  return out;
}
