/**
 * Names every test that failed and then passed when Vitest ran it again, with what the failed
 * attempt said. The integration and end-to-end projects run each failed test once more
 * (vitest.config.ts): they drive processes over real pseudo-terminals and a real browser, and on
 * a loaded machine one attempt can lose a race that the product itself rides out (a retried
 * request, a resumed pull). A retry must not hide that: this list is printed at the end of the
 * run, and scripts/test.mjs prints it again after its summary table, so it is read, not lost.
 * A test that fails twice still fails the run.
 */
import path from 'node:path';
import type { Reporter, TestCase } from 'vitest/node';

/** The line prefix scripts/test.mjs looks for. */
export const FLAKY_MARK = 'PASSED ONLY WHEN RUN AGAIN:';

export default class FlakyReporter implements Reporter {
  private readonly flaky: string[] = [];

  onTestCaseResult(test: TestCase): void {
    if (!test.diagnostic()?.flaky) return;
    const first = test.result().errors?.[0]?.message?.split('\n')[0] ?? 'no message';
    this.flaky.push(`${FLAKY_MARK} [${test.project.name}] ${path.relative(process.cwd(), test.module.moduleId)} > ${test.fullName} — first attempt: ${first}`);
  }

  onTestRunEnd(): void {
    if (this.flaky.length > 0) process.stdout.write(`\n${this.flaky.join('\n')}\n`);
  }
}
