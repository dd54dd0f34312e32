import type { CommandModule } from '../context.js';

/**
 * The command table. Each command lives in its own module, loaded only when it runs, so
 * `packscope --version` stays instant and one command's dependencies never slow another.
 */
export const COMMANDS: Record<string, () => Promise<{ default: CommandModule }>> = {
  ports: () => import('./ports.js'),
  info: () => import('./info.js'),
  monitor: () => import('./monitor.js'),
  log: () => import('./log.js'),
  sim: () => import('./sim.js'),
  serve: () => import('./serve.js'),
  can: () => import('./can.js'),
  policy: () => import('./policy.js'),
  selfcheck: () => import('./selfcheck.js'),
  package: () => import('./package.js'),
  claim: () => import('./claim.js'),
  image: () => import('./image.js'),
  flash: () => import('./flash.js'),
  fw: () => import('./fw.js'),
  desk: () => import('./desk.js'),
  settings: () => import('./settings.js'),
  health: () => import('./health.js'),
  scan: () => import('./scan.js'),
  parallel: () => import('./parallel.js'),
  replay: () => import('./replay.js'),
  bundle: () => import('./bundle.js'),
};
