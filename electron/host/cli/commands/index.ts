import type { CommandModule } from '../context.js';

/**
 * The command table. Each command lives in its own module, loaded only when it runs, so
 * `packscope --version` stays instant and one command's dependencies never slow another.
 */
export const COMMANDS: Record<string, () => Promise<{ default: CommandModule }>> = {
  serve: () => import('./serve.js'),
  can: () => import('./can.js'),
  policy: () => import('./policy.js'),
};
