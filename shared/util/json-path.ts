/**
 * The JSON path of a value inside a document, as problem lists show it: `voidConditions[1].thresholdC`
 * ('' for the document itself). Takes a zod issue's `path`.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}
