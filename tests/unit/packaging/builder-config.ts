import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
export const ROOT = path.resolve(import.meta.dirname, '../../..');

interface ConfigModule {
  getConfig(projectDir: string, configPath: string | null, configFromOptions: unknown): Promise<Record<string, unknown>>;
  validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean; add(k: string, v: unknown): void }): Promise<void>;
}

/** electron-builder's own config loader and validator (app-builder-lib, against its scheme.json). */
export function builderConfigModule(): ConfigModule {
  const dir = path.dirname(require.resolve('app-builder-lib/package.json'));
  return require(path.join(dir, 'out/util/config/config.js')) as ConfigModule;
}

export async function loadBuilderConfig(file = path.join(ROOT, 'electron-builder.yml')): Promise<Record<string, unknown>> {
  return builderConfigModule().getConfig(ROOT, file, null);
}

export async function validateBuilderConfig(config: unknown): Promise<void> {
  await builderConfigModule().validateConfiguration(config, { isEnabled: false, add: () => undefined });
}
