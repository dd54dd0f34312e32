/**
 * The window-wide desktop basics: files handed over by the OS (File > Open, a double-click) and
 * files dropped anywhere on the window open on their screen; the window's background follows the
 * theme (the Electron shell paints it before the page loads, so dark never flashes light).
 */
import { useEffect, useRef, useState, type DragEvent, type ReactNode } from 'react';
import type { PackscopeApi } from '../../shared/api/contract.js';
import { droppedFile } from '../common/desktop.js';
import { screenForName } from '../../shared/api/desktop.js';
import { ErrorBox, asUiError, type UiError } from '../common/ErrorBox.js';
import type { Screen } from './state.js';
import '../common/common.css';

const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');

export function useDesktopBasics(
  api: PackscopeApi,
  theme: 'light' | 'dark',
  desktop: boolean,
  openOn: (screen: Screen, path: string) => void,
): { handlers: Record<string, (e: DragEvent) => void>; overlay: ReactNode; message: ReactNode } {
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const depth = useRef(0);

  useEffect(() => api.on('open-file', (e) => openOn(e.screen, e.path)), [api, openOn]);
  useEffect(() => {
    if (desktop) api.call('desktop.theme', { theme }).catch(() => undefined);
  }, [api, theme, desktop]);

  const drop = async (e: DragEvent) => {
    e.preventDefault();
    depth.current = 0;
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (!file) return;
    setError(null);
    const notOurs = () =>
      setError({ message: `${file.name} is not a file PackScope opens. Drop a log (.pslog), a diagnosis package (.psdiag) or a firmware image (.img, .hex).` });
    // The desktop app's preload hands the file to the host by path (an open-file event follows).
    if (desktop) {
      if (!screenForName(file.name)) notOurs();
      return;
    }
    setBusy(`Opening ${file.name}…`);
    try {
      const target = await droppedFile(api, file);
      if (!target)
        setError({
          message: `${file.name} is not a file PackScope opens. Drop a log (.pslog), a diagnosis package (.psdiag) or a firmware image (.img, .hex).`,
        });
      else openOn(target.screen, target.path);
    } catch (err) {
      setError(asUiError(err));
    } finally {
      setBusy(null);
    }
  };

  return {
    handlers: {
      onDragEnter: (e) => {
        if (!hasFiles(e)) return;
        depth.current++;
        setDragging(true);
      },
      onDragOver: (e) => {
        if (hasFiles(e)) e.preventDefault();
      },
      onDragLeave: (e) => {
        if (!hasFiles(e)) return;
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setDragging(false);
      },
      onDrop: (e) => void drop(e),
    },
    overlay: dragging ? (
      <div className="drop-overlay" data-testid="drop-overlay" aria-hidden>
        Drop a log, a diagnosis package or a firmware image to open it
      </div>
    ) : null,
    message: (
      <>
        {busy && (
          <p role="status" className="notice">
            {busy}
          </p>
        )}
        {error && <ErrorBox error={error} />}
      </>
    ),
  };
}
