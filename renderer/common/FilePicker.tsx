import { useEffect, useState } from 'react';
import type { FileEntry } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { bytes } from './format.js';
import { asUiError, ErrorBox, type UiError } from './ErrorBox.js';
import { nativeOpen, nativeOpenMany } from './desktop.js';

/**
 * Picks a file on the host (which, in the browser host, may be another machine than the one
 * showing this page): a folder listing filtered by extension, plus a path field for pasting. The
 * desktop app adds the system's own Open dialog.
 */
export function FilePicker({
  label,
  extensions,
  onPick,
  initialDir,
  onPickFolder,
  multiple,
}: {
  label: string;
  extensions: string[];
  onPick: (path: string) => void;
  initialDir?: string;
  /** Offers the listed folder itself as a choice (a folder of packages, say). */
  onPickFolder?: (dir: string) => void;
  /** The Open dialog lets the user choose several files (onPick is called for each). */
  multiple?: boolean;
}) {
  const { api, desktop } = useApp();
  const [dir, setDir] = useState<string | undefined>(initialDir);
  const [listing, setListing] = useState<{ dir: string; parent: string | null; entries: FileEntry[] } | null>(null);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<UiError | null>(null);

  const filters = [{ name: label, extensions: extensions.map((e) => e.replace(/^\./, '')) }];
  // Callers pass a fresh array each render: the listing depends on its contents, not its identity.
  const extKey = extensions.join('|');
  useEffect(() => {
    let live = true;
    const exts = extKey ? extKey.split('|') : [];
    api
      .call('files.list', { ...(dir ? { dir } : {}), extensions: exts })
      .then((l) => live && (setListing(l), setError(null)))
      .catch((e) => live && setError(asUiError(e)));
    return () => {
      live = false;
    };
  }, [api, dir, extKey]);

  return (
    <div className="picker" aria-label={label}>
      <div className="row">
        <label className="inline grow">
          {label}
          <input
            className="grow"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            placeholder={`/path/to/file${extensions[0] ?? ''}`}
            aria-label={`${label} path`}
          />
        </label>
        <button onClick={() => typed.trim() && onPick(typed.trim())} disabled={!typed.trim()}>
          Open
        </button>
        {desktop && (
          <button
            onClick={() =>
              void (multiple ? nativeOpenMany(api, label, filters, 'files', listing?.dir) : nativeOpen(api, label, filters, listing?.dir))
                .then((p) => (Array.isArray(p) ? p.forEach(onPick) : p && onPick(p)))
                .catch((e) => setError(asUiError(e)))
            }
          >
            Browse…
          </button>
        )}
        {desktop && onPickFolder && (
          <button
            onClick={() =>
              void nativeOpenMany(api, label, filters, 'folder', listing?.dir)
                .then((p) => p.forEach(onPickFolder))
                .catch((e) => setError(asUiError(e)))
            }
          >
            Browse for a folder…
          </button>
        )}
      </div>
      {error && <ErrorBox error={error} />}
      {listing && (
        <div className="filelist" role="list" aria-label={`Files in ${listing.dir}`}>
          <div className="muted small">
            {listing.dir}{' '}
            {listing.parent && (
              <button className="link" onClick={() => setDir(listing.parent!)}>
                ↑ up
              </button>
            )}{' '}
            {onPickFolder && (
              <button className="link" onClick={() => onPickFolder(listing.dir)}>
                choose this folder
              </button>
            )}
          </div>
          {listing.entries.length === 0 && <div className="muted">No {extensions.join(' / ')} files here.</div>}
          {listing.entries.map((e) => (
            <button key={e.path} role="listitem" className="file" onClick={() => (e.isDir ? setDir(e.path) : onPick(e.path))}>
              <span>
                {e.isDir ? '📁 ' : ''}
                {e.name}
              </span>
              <span className="muted small">{e.isDir ? 'folder' : `${bytes(e.size)} · ${new Date(e.mtimeMs).toLocaleString()}`}</span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

export function Progress({ done, total, rate, etaSeconds, label }: { done: number; total: number; rate: number; etaSeconds: number | null; label: string }) {
  const pct = total > 0 ? (100 * done) / total : 0;
  return (
    <div className="progress" data-testid="progress">
      <div className="row between">
        <strong>{label}</strong>
        <span>
          {bytes(done)} of {bytes(total)} · {bytes(Math.round(rate))}/s · {etaSeconds === null ? 'estimating…' : `${Math.ceil(etaSeconds)} s left`}
        </span>
      </div>
      <progress max={100} value={pct} aria-label={`${label}: ${pct.toFixed(0)} percent`} />
    </div>
  );
}
