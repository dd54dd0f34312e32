import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ConnectResult, Features, PackscopeApi } from '../../shared/api/contract.js';
import { LiveSource } from '../source/live-source.js';
import { useDesktopBasics } from './desktop-basics.js';
import { SCREENS } from './screens.js';
import { AppContext, type AppState, type Screen } from './state.js';

type Theme = 'light' | 'dark';

function initialTheme(): Theme {
  const saved = localStorage.getItem('packscope.theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function initialScreen(): { screen: Screen; file: string | null } {
  // Deep links (file associations, e2e tests): #screen=verify&file=/path/x.psdiag
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const s = params.get('screen') as Screen | null;
  return { screen: s && s in SCREENS ? s : 'connect', file: params.get('file') };
}

export function App({ api, hostState }: { api: PackscopeApi; hostState: { state: string; reason?: string } }) {
  const start = useMemo(initialScreen, []);
  const [screen, setScreen] = useState<Screen>(start.screen);
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [features, setFeatures] = useState<Features | null>(null);
  const [dataDir, setDataDir] = useState('');
  const [desktop, setDesktop] = useState(false);
  // Bumped when a file opens on the current screen: it mounts afresh and takes the file.
  const [opened, setOpened] = useState(0);
  const [connection, setConnection] = useState<ConnectResult | null>(null);
  const [linkNote, setLinkNote] = useState<string | null>(null);
  const pending = useRef<{ screen: Screen; path: string } | null>(start.file ? { screen: start.screen, path: start.file } : null);
  const live = useMemo(() => new LiveSource().attach(api), [api]);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('packscope.theme', theme);
  }, [theme]);

  useEffect(() => {
    api
      .call('app.info', {})
      .then((info) => {
        setFeatures(info.features);
        setDataDir(info.dataDir);
        setDesktop(info.desktop === true);
      })
      .catch(() => undefined);
    api
      .call('device.status', {})
      .then(async (s) => {
        // A reload while connected picks the session up again instead of pretending it is gone.
        if (s.connected && s.device && s.path) {
          setConnection({
            device: s.device,
            protocol: s.device.protocol,
            probes: [],
            transport: { kind: s.path.startsWith('sim:') ? 'sim' : 'serial', path: s.path },
          });
        }
      })
      .catch(() => undefined);
    return api.on('link', (e) => {
      if (e.state === 'disconnected') {
        setConnection(null);
        live.clear();
        setLinkNote(`Disconnected from ${e.path ?? 'the device'}: ${e.reason ?? 'link closed'}`);
      } else setLinkNote(null);
    });
  }, [api, live]);

  // Files opened from the OS (double-click on .psdiag / .pslog) arrive while the app runs.
  useEffect(() => {
    const w = window as unknown as { packscopeOpenFile?: (screen: Screen, path: string) => void };
    w.packscopeOpenFile = (s, path) => {
      pending.current = { screen: s, path };
      setScreen(s);
    };
  }, []);

  const go = useCallback((s: Screen, arg?: string) => {
    if (arg) pending.current = { screen: s, path: arg };
    setScreen(s);
  }, []);
  // File > Open, a double-click in the file manager, a drop: the file opens on its screen from anywhere.
  const openOn = useCallback((s: Screen, path: string) => {
    pending.current = { screen: s, path };
    setScreen(s);
    setOpened((n) => n + 1);
  }, []);
  const drop = useDesktopBasics(api, theme, desktop, openOn);

  const state: AppState = {
    api,
    features,
    dataDir,
    desktop,
    connection,
    setConnection: (c) => {
      setConnection(c);
      if (c) {
        live.clear();
        setLinkNote(null);
      }
    },
    live,
    go,
    pendingFile: pending.current,
    takePendingFile: (s) => {
      if (pending.current?.screen !== s) return null;
      const p = pending.current.path;
      pending.current = null;
      return p;
    },
  };

  const Current = SCREENS[screen].component;

  return (
    <AppContext.Provider value={state}>
      <div className="app" {...drop.handlers}>
        {drop.overlay}
        <nav className="sidebar" aria-label="Screens">
          <div className="brand">PackScope</div>
          {(Object.keys(SCREENS) as Screen[]).map((s) => (
            <button key={s} className="nav" aria-current={screen === s ? 'page' : undefined} onClick={() => setScreen(s)} data-testid={`nav-${s}`}>
              {SCREENS[s].title}
            </button>
          ))}
          <div className="spacer" />
          <div className="status" data-testid="link-status">
            {connection ? (
              <>
                <span className="dot ok" aria-hidden /> {connection.device.model}
                <br />
                <span className="muted small">{connection.transport.path}</span>
              </>
            ) : (
              <>
                <span className="dot" aria-hidden /> Not connected
              </>
            )}
          </div>
          <button
            className="nav"
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
            aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
          >
            {theme === 'dark' ? 'Light theme' : 'Dark theme'}
          </button>
        </nav>
        <main>
          {hostState.state === 'closed' && (
            <div className="error" role="alert">
              <strong>{hostState.reason}</strong>
            </div>
          )}
          {linkNote && (
            <div className="notice" role="status" data-testid="link-note">
              {linkNote}
            </div>
          )}
          {drop.message}
          <Current key={`${screen}-${opened}`} />
        </main>
      </div>
    </AppContext.Provider>
  );
}
