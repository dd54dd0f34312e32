import { defineConfig } from 'vitest/config';

// One config for every suite. Unit tests are pure and fast; integration tests talk to the
// simulated board over real pseudo-terminals; e2e tests drive Debian Chromium against
// `packscope serve`. Benchmarks are not tests: they live in tests/bench and run via `npm run bench`.
export default defineConfig({
  test: {
    include: ['tests/{unit,integration,e2e,lint}/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
