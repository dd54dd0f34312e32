import type { ComponentType } from 'react';
import { ConnectScreen } from '../connect/ConnectScreen.js';
import { LiveScreen } from '../live/LiveScreen.js';
import { PacksScreen } from '../packs/PacksScreen.js';
import { FirmwareScreen } from '../firmware/FirmwareScreen.js';
import { VerifyScreen } from '../verify/VerifyScreen.js';
import { LogsScreen } from '../logs/LogsScreen.js';
import { SelfCheckScreen } from '../selfcheck/SelfCheckScreen.js';
import { ClaimScreen } from '../claim/ClaimScreen.js';
import { DeskScreen } from '../desk/DeskScreen.js';
import { HealthScreen } from '../health/HealthScreen.js';
import { UpdateScreen } from '../update/UpdateScreen.js';
import { SettingsScreen } from '../settings/SettingsScreen.js';
import type { Screen } from './state.js';

/** Navigation order, titles and screens. */
export const SCREENS: Record<Screen, { title: string; component: ComponentType }> = {
  connect: { title: 'Connect', component: ConnectScreen },
  live: { title: 'Live', component: LiveScreen },
  packs: { title: 'Packs', component: PacksScreen },
  logs: { title: 'Logs', component: LogsScreen },
  health: { title: 'Health', component: HealthScreen },
  settings: { title: 'Settings', component: SettingsScreen },
  firmware: { title: 'Firmware', component: FirmwareScreen },
  update: { title: 'Update', component: UpdateScreen },
  selfcheck: { title: 'Self-check', component: SelfCheckScreen },
  claim: { title: 'Claim', component: ClaimScreen },
  verify: { title: 'Verify', component: VerifyScreen },
  desk: { title: 'Claims', component: DeskScreen },
};
