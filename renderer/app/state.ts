import { createContext, useContext } from 'react';
import type { ConnectResult, Features, JobView, PackscopeApi } from '../../shared/api/contract.js';
import type { LiveSource } from '../source/live-source.js';

export type Screen = 'connect' | 'live' | 'packs' | 'logs' | 'health' | 'settings' | 'firmware' | 'update' | 'selfcheck' | 'claim' | 'verify' | 'desk';

export interface AppState {
  api: PackscopeApi;
  features: Features | null;
  dataDir: string;
  /** Native dialogs, show in folder and open with the system (the Electron shell). */
  desktop: boolean;
  connection: ConnectResult | null;
  setConnection(c: ConnectResult | null): void;
  live: LiveSource;
  go(screen: Screen, arg?: string): void;
  /** A file handed over by the OS (file association) or another screen. */
  pendingFile: { screen: Screen; path: string } | null;
  takePendingFile(screen: Screen): string | null;
  /** The host's jobs (running first), kept current by 'job' events. */
  jobs: JobView[];
  /** The one connection state every screen follows (host link events). */
  link: { state: 'connected' | 'stale' | 'disconnected'; reason: string | null };
  /** Why actions that need the board are unavailable right now (null: the board answers). */
  boardMissing: string | null;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const s = useContext(AppContext);
  if (!s) throw new Error('AppContext missing');
  return s;
}
