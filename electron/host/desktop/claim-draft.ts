/**
 * The Claim screen's draft, kept by the host: what the customer typed, the chosen log, ticket and
 * photos. The screen may unmount (Go to Logs), the page may reload or the app restart; the draft is
 * still here. Written to a small JSON file (temp name, then rename) so a restart keeps it too.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { claimDraft, type ClaimDraft } from '../../../shared/api/desktop.js';
import { ensureDir } from '../api/files.js';
import { writeFileAtomic } from '../util/files.js';

export class ClaimDraftStore {
  private draft: ClaimDraft | null | undefined;

  /** `file`: where the draft is kept across restarts (null: in memory only). */
  constructor(private readonly file: string | null) {}

  get(): ClaimDraft | null {
    if (this.draft === undefined) this.draft = this.load();
    return this.draft;
  }

  set(draft: ClaimDraft | null): void {
    this.draft = draft;
    if (!this.file) return;
    if (draft === null) rmSync(this.file, { force: true });
    else {
      ensureDir(path.dirname(this.file));
      // Private: the draft holds the customer's name and contact.
      writeFileAtomic(this.file, JSON.stringify(draft), { mode: 0o600 });
    }
  }

  private load(): ClaimDraft | null {
    if (!this.file) return null;
    try {
      // A draft from another version or a damaged file is dropped, not half-restored.
      const r = claimDraft.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
      return r.success ? r.data : null;
    } catch {
      return null;
    }
  }
}
