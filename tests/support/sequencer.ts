/**
 * Orders test files longest first, so the last file to start is a short one and no worker sits
 * idle while another still runs a long file (the integration and end-to-end projects run a few
 * files at a time; a long file started late makes the whole run as long as it).
 *
 * Vitest orders by the durations of the previous run on this machine when it has them, and by
 * file size otherwise — which on a fresh clone started the longest end-to-end file halfway
 * through. expected-durations.json holds the durations (seconds) of a full run on the reference
 * 2-core machine; only their order matters, so it needs refreshing only when a file's cost changes
 * a lot. A file in neither place (a new one) goes first: it is likely what is being worked on.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const expected: Record<string, number> = JSON.parse(readFileSync(new URL('./expected-durations.json', import.meta.url), 'utf8'));

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const cost = (f: TestSpecification): number => {
      const key = `${f.project.name}:${path.relative(root, f.moduleId).split(path.sep).join('/')}`;
      const cached = this.ctx.cache.getFileTestResults(key)?.duration;
      if (cached !== undefined) return cached / 1000;
      return expected[key] ?? Number.POSITIVE_INFINITY;
    };
    return [...files].sort((a, b) => {
      const group = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      if (group !== 0) return group;
      if (a.project.name !== b.project.name) return a.project.name < b.project.name ? -1 : 1;
      return cost(b) - cost(a) || (a.moduleId < b.moduleId ? -1 : 1);
    });
  }
}
