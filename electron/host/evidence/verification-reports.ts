/**
 * The verifications the Verify screen showed, kept by package SHA-256, so "Save report" writes
 * exactly what was on screen (not a re-run with other choices) to a fresh name or the chosen path.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { Res } from '../../../shared/api/contract.js';
import { writeFileAtomic } from '../util/files.js';
import { safeStem, uniquePath } from '../desktop/unique-path.js';
import { renderVerificationReport } from './verification-report.js';

type View = Res<'package.verify'>;
const KEEP = 16;

export class VerificationReports {
  private readonly shown = new Map<string, { view: View; at: string }>();

  constructor(
    private readonly dataDir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  remember(view: View): View {
    this.shown.delete(view.sha256);
    this.shown.set(view.sha256, { view, at: this.now().toISOString() });
    while (this.shown.size > KEEP) this.shown.delete(this.shown.keys().next().value!);
    return view;
  }

  write(file: string, sha256: string, out?: string): { path: string; html: string } {
    const s = this.shown.get(sha256);
    if (!s || path.resolve(s.view.path) !== path.resolve(file)) throw new PackscopeError('USAGE', `verify ${path.basename(file)} first, then save its report`);
    const html = renderVerificationReport(s.view, s.at);
    const serial = s.view.manifest?.device.serial ?? path.basename(file, '.psdiag');
    const target = out ?? uniquePath(this.dataDir, `verification-${safeStem(serial)}-${s.at.slice(0, 10)}`, '.html');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileAtomic(target, html);
    return { path: target, html };
  }
}
