import type { ComponentType } from 'react';
import { Unavailable } from '../common/ErrorBox.js';
import { ConnectScreen } from '../connect/ConnectScreen.js';
import { LiveScreen } from '../live/LiveScreen.js';
import { FirmwareScreen } from '../firmware/FirmwareScreen.js';
import { VerifyScreen } from '../verify/VerifyScreen.js';
import { LogsScreen } from '../logs/LogsScreen.js';
import { SelfCheckScreen } from '../selfcheck/SelfCheckScreen.js';
import type { Screen } from './state.js';

function pending(title: string, detail: string): ComponentType {
  return function PendingScreen() {
    return (
      <section className="screen">
        <h1>{title}</h1>
        <Unavailable what={title} detail={detail} />
      </section>
    );
  };
}

/** Navigation order, titles and screens. */
export const SCREENS: Record<Screen, { title: string; component: ComponentType }> = {
  connect: { title: 'Connect', component: ConnectScreen },
  live: { title: 'Live', component: LiveScreen },
  logs: { title: 'Logs', component: LogsScreen },
  firmware: { title: 'Firmware', component: FirmwareScreen },
  selfcheck: { title: 'Self-check', component: SelfCheckScreen },
  claim: { title: 'Claim', component: pending('Claim', 'Warranty claims need the evidence back end, which this build does not include yet.') },
  verify: { title: 'Verify', component: VerifyScreen },
};
