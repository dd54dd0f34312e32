import { createRequire, syncBuiltinESMExports } from 'node:module';

/**
 * Setup of the unit project: unit tests start no processes. Every way node:child_process starts
 * one throws instead, so a test that needs the CLI, a pty, a stock tool or the build fails at
 * once and says where it belongs.
 */
const childProcess = createRequire(import.meta.url)('node:child_process') as Record<string, unknown>;
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  childProcess[name] = () => {
    throw new Error(`unit tests start no processes (child_process.${name}): a test that needs one belongs in tests/integration`);
  };
}
syncBuiltinESMExports();
