/**
 * The guided capacity test as the board's firmware runs it (PROTOCOL.md §5.2): full charge, rest,
 * discharge at a constant current until the lowest cell reaches the end voltage, rest. The board
 * drives its bench charger and load (the pack model's bench load), counts the discharged charge
 * at every step of its coulomb counter, and stops the test at the first protection event (any
 * alarm raised, any FET opened). Each phase is a black-box event, so the signed records between
 * them are the measurement a verifier can redo.
 *
 * The test lives in RAM: a reset aborts it, as a real board's would.
 */
import { ALARM_CLEARED_BASE, ALARM_RAISED_BASE, EVENTS, alarmRaisedEvent, eventInfo } from '../../../shared/blackbox/events.js';
import {
  CAPACITY_TEST_CMD,
  CAPACITY_TEST_START,
  CAPACITY_TEST_STATUS,
  type CapacityTestStart,
  type CapacityTestState,
  type CapacityTestStatus,
} from '../../../shared/health/capacity-test.js';
import { ERR } from '../../../shared/protocol/constants.js';
import type { SimBoard } from '../board.js';
import { CHEMISTRIES } from '../pack/chemistry.js';
import type { PackState } from '../pack/types.js';
import { NativeError } from './dispatcher.js';

/** Longest a charge may take before the test gives up on it, s of board time. */
const CHARGE_LIMIT_S = 24 * 3600;
const MAX_REST_S = 24 * 3600;

const RUNNING: readonly CapacityTestState[] = ['charging', 'resting-full', 'discharging', 'resting-empty'];

/**
 * A protection event: a FET opened, or an alarm raised — except cell imbalance, which is a
 * judgement of the cells at rest (an LFP pack near empty spreads by a tenth of a volt) and
 * protects nothing.
 */
function isProtectionEvent(code: number): boolean {
  if (code === EVENTS.charge_fet_off || code === EVENTS.discharge_fet_off) return true;
  return code >= ALARM_RAISED_BASE && code < ALARM_CLEARED_BASE && code !== alarmRaisedEvent('cell_imbalance');
}

export function installCapacityTest(board: SimBoard): void {
  const none: CapacityTestStart = { dischargeA: 0, endCellV: 0, chargeA: 0, restS: 0 };
  let state: CapacityTestState = 'idle';
  let settings = none;
  let startedMs = 0;
  let phaseStartedMs = 0;
  let dischargedAh = 0;
  let dischargedWh = 0;
  let restedV = 0;
  let reason = '';

  const running = () => RUNNING.includes(state);
  const phase = (next: CapacityTestState, nowMs: number) => {
    state = next;
    phaseStartedMs = nowMs;
  };
  const abort = (why: string) => {
    board.pack.setBench(null);
    reason = why;
    phase('aborted', board.now());
    board.raiseEvent(EVENTS.capacity_test_aborted);
  };

  board.onTick((s: PackState, events: number[]) => {
    if (!running()) return;
    const hit = events.find(isProtectionEvent);
    if (hit !== undefined) return abort(`protection: ${eventInfo(hit).description.toLowerCase()}`);
    const b = board.pack.bench();
    if (!b) return abort('the bench load was released');
    if (b.done === 'protection') return abort('protection: a FET opened');
    if (state === 'discharging') [dischargedAh, dischargedWh] = [-b.ah, -b.wh];
    const phaseS = (s.timeMs - phaseStartedMs) / 1000;
    switch (state) {
      case 'charging':
        if (b.done === 'charged') {
          board.pack.setBench({ kind: 'rest', currentA: 0 });
          phase('resting-full', s.timeMs);
        } else if (phaseS > CHARGE_LIMIT_S) abort('the charge did not complete within 24 h');
        break;
      case 'resting-full':
        if (phaseS >= settings.restS) {
          board.pack.setBench({ kind: 'discharge', currentA: settings.dischargeA, untilCellV: settings.endCellV });
          phase('discharging', s.timeMs);
          board.raiseEvent(EVENTS.capacity_test_discharge);
        }
        break;
      case 'discharging': {
        const limitS = (3600 * 1.5 * board.pack.config.capacityAh) / settings.dischargeA + 3600;
        if (b.done === 'end-voltage') {
          board.pack.setBench({ kind: 'rest', currentA: 0 });
          phase('resting-empty', s.timeMs);
          board.raiseEvent(EVENTS.capacity_test_end_voltage);
        } else if (phaseS > limitS) abort('the end voltage was not reached within 1.5 times the rated capacity');
        break;
      }
      case 'resting-empty':
        if (phaseS >= settings.restS) {
          restedV = s.packVoltage;
          board.pack.setBench(null);
          phase('complete', s.timeMs);
          board.raiseEvent(EVENTS.capacity_test_complete);
        }
        break;
    }
  });
  board.onReset(() => {
    if (running()) abort('the board restarted');
  });

  board.native.register(CAPACITY_TEST_CMD.START, (payload) => {
    const req = CAPACITY_TEST_START.decode(payload);
    if (running()) throw new NativeError(ERR.BUSY, `a capacity test is running (${state})`);
    const prot = board.pack.protection();
    const chem = CHEMISTRIES[board.pack.config.chemistry];
    const C = board.pack.config.capacityAh;
    if (!(req.dischargeA >= 0.01 * C && req.dischargeA < prot.dischargeOcA))
      throw new NativeError(ERR.OUT_OF_RANGE, `discharge current must be ${0.01 * C} A to below the over-current limit ${prot.dischargeOcA} A`);
    if (!(req.chargeA >= 0.01 * C && req.chargeA < prot.chargeOcA))
      throw new NativeError(ERR.OUT_OF_RANGE, `charge current must be ${0.01 * C} A to below the over-current limit ${prot.chargeOcA} A`);
    if (!(req.endCellV > prot.cellUvProtect && req.endCellV < chem.ocv[Math.floor(chem.ocv.length / 2)]![1]))
      throw new NativeError(
        ERR.OUT_OF_RANGE,
        `end voltage must be above the under-voltage protection ${prot.cellUvProtect} V and below the mid-charge voltage`,
      );
    if (!(req.restS >= 0 && req.restS <= MAX_REST_S)) throw new NativeError(ERR.OUT_OF_RANGE, `rest must be 0 to ${MAX_REST_S} s`);
    const s = board.advance();
    if (s.alarms !== 0) throw new NativeError(ERR.DENIED, 'an alarm is active: clear its cause before a capacity test');
    settings = req;
    startedMs = s.timeMs;
    dischargedAh = dischargedWh = restedV = 0;
    reason = '';
    board.pack.setBench({ kind: 'charge', currentA: req.chargeA });
    phase('charging', s.timeMs);
    board.raiseEvent(EVENTS.capacity_test_started);
    return CAPACITY_TEST_STATUS.encode(status(s));
  });

  board.native.register(CAPACITY_TEST_CMD.STATUS, () => CAPACITY_TEST_STATUS.encode(status(board.advance())));

  board.native.register(CAPACITY_TEST_CMD.ABORT, () => {
    const s = board.advance();
    if (running()) abort('aborted by the host');
    return CAPACITY_TEST_STATUS.encode(status(s));
  });

  function status(s: PackState): CapacityTestStatus {
    return {
      state,
      settings,
      startedMs,
      phaseStartedMs,
      nowMs: s.timeMs,
      dischargedAh,
      dischargedWh,
      packV: s.packVoltage,
      currentA: s.current,
      minCellV: Math.min(...s.cellVoltages),
      maxCellV: Math.max(...s.cellVoltages),
      soc: s.soc,
      restedV,
      reason,
    };
  }
}
