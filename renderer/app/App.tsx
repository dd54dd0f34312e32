import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ConnectResult, Features, PackscopeApi } from '../../shared/api/contract.js';
import { LiveSource } from '../source/live-source.js';
import { useDesktopBasics } from './desktop-basics.js';
import { JobIndicator, useHostJobs, useUnloadGuard } from './jobs.js';
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
  const [link, setLink] = useState<AppState['link']>({ state: 'disconnected', reason: null });
  const jobs = useHostJobs(api);
  useUnloadGuard(jobs);
  // The board the live history belongs to: reconnecting to it keeps the history, another board clears it.
  const historyOf = useRef<string | null>(null);
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
          setLink({ state: 'connected', reason: null });
          historyOf.current = s.device.serial;
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
      setLink({ state: e.state, reason: e.reason ?? null });
      if (e.state === 'disconnected') {
        // The live history stays (the chart shows where the data stopped); only the session goes.
        setConnection(null);
        setLinkNote(`Disconnected from ${e.path ?? 'the device'}: ${e.reason ?? 'link closed'}`);
        return;
      }
      setLinkNote(null);
      // A fresh identity (after a flash, a revert, a reconnect from another window) replaces the old one everywhere.
      const device = e.device;
      if (device)
        setConnection((c) =>
          c
            ? { ...c, device }
            : e.path
              ? { device, protocol: device.protocol, probes: [], transport: { kind: e.path.startsWith('sim:') ? 'sim' : 'serial', path: e.path } }
              : c,
        );
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
        if (historyOf.current !== c.device.serial) live.clear();
        historyOf.current = c.device.serial;
        setLink({ state: 'connected', reason: null });
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
    jobs,
    link,
    boardMissing: !connection
      ? link.reason && link.reason !== 'disconnected by the user'
        ? `No board is connected: ${link.reason}`
        : 'No board is connected. Connect one on the Connect screen.'
      : link.state === 'stale'
        ? `The board is not answering (${link.reason ?? 'no data'}). Check the cable and the pack power.`
        : null,
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
          <JobIndicator api={api} jobs={jobs} />
          <div className="status" data-testid="link-status" data-state={connection ? link.state : 'disconnected'}>
            {connection ? (
              <>
                <span className={`dot ${link.state === 'stale' ? 'stale' : 'ok'}`} aria-hidden /> {connection.device.model}
                {link.state === 'stale' && <strong> · not answering</strong>}
                <br />
                <span className="muted small">
                  {connection.transport.path} · firmware {connection.device.firmwareVersion}
                </span>
              </>
            ) : (
              <>
                <span className={`dot${link.reason ? ' lost' : ''}`} aria-hidden /> Not connected
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
