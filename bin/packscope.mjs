#!/usr/bin/env node
// Entry point of the `packscope` CLI. The back end is TypeScript run through tsx's loader, so
// `npx packscope …` works right after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../electron/host/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
