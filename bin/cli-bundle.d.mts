/** The CLI bundle's entry file (dist/cli/packscope.mjs under root) when it matches the sources, else null. */
export function freshBundle(root?: string): string | null;
