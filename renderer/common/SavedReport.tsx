import { useState, type ReactNode } from 'react';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from './ErrorBox.js';
import { nativeSave, splitPath, useDownloadHref } from './desktop.js';

/**
 * "Save the report" for a report the host renders: the system's Save dialog in the desktop app
 * (then open it or show it in its folder), a fresh name in the data folder and a download link in
 * a browser (where the system cannot open a file for the page).
 */
export function SavedReport({
  label,
  testId,
  suggested,
  write,
  children,
}: {
  label: string;
  testId: string;
  /** The file name the Save dialog proposes. */
  suggested: string;
  write(out?: string): Promise<{ path: string; html: string }>;
  children?: ReactNode;
}) {
  const { api, desktop, dataDir } = useApp();
  const [saved, setSaved] = useState<{ path: string; html: string } | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const href = useDownloadHref(saved?.html ?? null, !desktop);
  const run = (p: Promise<unknown>) => p.catch((e) => setError(asUiError(e)));
  const save = async () => {
    setError(null);
    let out: string | undefined;
    if (desktop) {
      const p = await nativeSave(api, label, `${dataDir}/${suggested}`, [{ name: 'Report', extensions: ['html'] }]);
      if (!p) return;
      out = p;
    }
    setSaved(await write(out));
  };
  return (
    <>
      <button onClick={() => void run(save())} data-testid={`${testId}-save`}>
        {label}
      </button>
      {children}
      {saved && (
        <span className="small saved-report" data-testid={`${testId}-saved`}>
          Saved <code>{saved.path}</code>{' '}
          {desktop ? (
            <>
              <button className="link" onClick={() => void run(api.call('desktop.openPath', { path: saved.path }))}>
                open
              </button>{' '}
              <button className="link" onClick={() => void run(api.call('desktop.showInFolder', { path: saved.path }))}>
                show in folder
              </button>
            </>
          ) : (
            href && (
              <a href={href} download={splitPath(saved.path).name} data-testid={`${testId}-download`}>
                download to open it here
              </a>
            )
          )}
        </span>
      )}
      {error && <ErrorBox error={error} />}
    </>
  );
}
