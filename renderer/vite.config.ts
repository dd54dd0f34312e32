// The renderer build: plain Vite (its own transformer handles TSX with the automatic React
// runtime). Relative base so the same files work under app://packscope/ in Electron and under
// http://127.0.0.1:PORT/ in the browser host. No inline scripts or styles: the CSP forbids them.
// No imports here: renderer/ may not use Node built-ins (layering lint), and a plain object is
// all Vite needs. Paths are relative to the repository root, where npm scripts run.
export default {
  root: 'renderer',
  base: './',
  publicDir: false,
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1024,
  },
  worker: { format: 'es' },
  oxc: { jsx: { runtime: 'automatic' } },
};
