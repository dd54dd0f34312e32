import { describe, expect, it } from 'vitest';
import { applySettings } from '../../../electron/host/settings/service.js';
import { JBD_COUNTER_NOTE } from '../../../electron/host/settings/jbd-access.js';
import { alarmRaisedEvent } from '../../../shared/blackbox/events.js';
import { simulatedBoards } from './simulated-boards.js';

/**
 * JBD settings against the simulated JBD board in-process on virtual time: the protection counters
 * are read before a write and kept by the default exit; the "save" exit zeroes them, and only when
 * asked; the board's own refusal comes back with the value it keeps.
 */
const jbd = simulatedBoards('sim:?personality=jbd&seed=4', 'jbd');

describe('JBD settings', () => {
  it('keeps the 0xAA counters across a write with the default exit, and says what the save exit would do', async () => {
    const { clock, board, access } = await jbd();
    board.raiseEvent(alarmRaisedEvent('cell_overvoltage'));
    board.raiseEvent(alarmRaisedEvent('cell_overvoltage'));
    board.raiseEvent(alarmRaisedEvent('short_circuit'));
    const rep = await clock.run(applySettings(access, { cell_ov_protect: 3.7 }, { tool: 't' }));
    expect(rep.jbdErrorCounters).toMatchObject({ cell_overvoltage: 2, short_circuit: 1 });
    expect(rep.notes).toContain(JBD_COUNTER_NOTE);
    expect(rep.after['cell_ov_protect']).toBe(3.7);
    expect(board.params.find((p) => p.name === 'cell_overvoltage')!.value).toBeCloseTo(3.7, 5);
    const after = await clock.run(access.read());
    expect(after.jbdErrorCounters).toMatchObject({ cell_overvoltage: 2, short_circuit: 1 });
  });

  it('zeroes the counters only with the save exit, after reading them', async () => {
    const { clock, board, access } = await jbd();
    board.raiseEvent(alarmRaisedEvent('cell_undervoltage'));
    const rep = await clock.run(applySettings(access, { balance_start: 3.45 }, { tool: 't', jbdExit: 'save-and-reset-counters' }));
    expect(rep.jbdErrorCounters).toMatchObject({ cell_undervoltage: 1 });
    expect((await clock.run(access.read())).jbdErrorCounters!['cell_undervoltage']).toBe(0);
  });

  it('reports the board’s own refusal with its stored value', async () => {
    const { clock, access } = await jbd();
    const rep = await clock.run(applySettings(access, { charge_ot_protect: 90 }, { tool: 't' }));
    expect(rep.outcomes).toEqual([expect.objectContaining({ id: 'charge_ot_protect', result: 'refused', stored: 55 })]);
    // The refused register left the board's limit untouched.
    expect((await clock.run(access.read())).values['charge_ot_protect']).toBe(55);
  });
});
