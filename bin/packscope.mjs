#!/usr/bin/env node
// Entry point of the `packscope` CLI. Right after `npm install` the back end is TypeScript run
// through tsx's loader, so `npx packscope …` needs no build step. Once `npm run build` has made
// the bundle in dist/cli, that runs instead, for as long as it was built from the sources as they
// are now (bin/cli-bundle.mjs); PACKSCOPE_CLI=source always runs the sources.
import { pathToFileURL } from 'node:url';
import { freshBundle } from './cli-bundle.mjs';

const bundle = process.env.PACKSCOPE_CLI === 'source' ? null : freshBundle();
if (bundle) {
  // The bundle runs the command and sets the exit code itself.
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../electron/host/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
