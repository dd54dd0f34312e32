// npm's `prepare` hook (npm install and npm ci in a checkout, npm pack and npm publish): builds the
// CLI bundle (dist/cli), so `packscope` starts without compiling TypeScript from the first run,
// and a published package carries the bundle. Only the CLI is built here: it takes about a second
// and needs neither Electron nor the renderer's toolchain. Where esbuild is not installed (an
// install without dev dependencies) nothing is built and the CLI runs its sources through tsx.
try {
  await import('esbuild');
} catch {
  console.log('prepare: esbuild is not installed, so the CLI is not bundled; packscope runs its TypeScript sources through tsx');
  process.exit(0);
}
await import('./build-cli.mjs');
