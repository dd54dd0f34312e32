import type { WarrantyPolicy } from './policy.js';

/**
 * The policy PackScope ships with (also written out as default-policy.json). Thresholds are for
 * LiFePO4 packs, the simulator's default chemistry: 1-year warranty, 90-day DOA, void on
 * discharge above 2C for more than 10 s and on charging below 0 °C; deep discharge below 2.5 V,
 * overcharge above 3.8 V per cell, operation above 60 °C. Suppliers replace it with their own.
 */
export const DEFAULT_POLICY: WarrantyPolicy = {
  schema: 'packscope-warranty-policy/1',
  id: 'packscope-default-lfp-1',
  title: 'PackScope default warranty policy for LiFePO4 packs',
  warranty: { periodDays: 365, doaDays: 90 },
  evidence: { maxRecordGapS: 900, failureProximityHours: 720, requireSignedData: true },
  voidConditions: [
    {
      id: 'over-discharge-current',
      title: 'Discharged above 2C for more than 10 s',
      kind: 'discharge_current_above_c',
      thresholdC: 2,
      minDurationS: 10,
    },
    {
      id: 'over-charge-current',
      title: 'Charged above 1C for more than 10 s',
      kind: 'charge_current_above_c',
      thresholdC: 1,
      minDurationS: 10,
    },
    {
      id: 'cold-charge',
      title: 'Charged below 0 °C',
      kind: 'charge_below_temperature',
      thresholdCelsius: 0,
      minChargeCurrentA: 1,
      minDurationS: 0,
    },
    {
      id: 'over-temperature',
      title: 'Operated above 60 °C for more than 30 s',
      kind: 'temperature_above',
      thresholdCelsius: 60,
      minDurationS: 30,
    },
    {
      id: 'deep-discharge',
      title: 'A cell was discharged below 2.5 V for more than 5 s',
      kind: 'cell_voltage_below',
      thresholdV: 2.5,
      minDurationS: 5,
    },
    {
      id: 'overcharge',
      title: 'A cell was charged above 3.8 V for more than 5 s',
      kind: 'cell_voltage_above',
      thresholdV: 3.8,
      minDurationS: 5,
    },
  ],
  defectIndicators: [
    {
      id: 'cell-drift',
      title: 'One cell drifts more than 50 mV from the others at rest',
      kind: 'cell_drift_at_rest',
      thresholdV: 0.05,
      restCurrentA: 1,
      settleS: 60,
      // LiFePO4's plateau: outside it a few percent of SOC mismatch is a large voltage spread.
      minSocPercent: 10,
      maxSocPercent: 90,
      minDurationS: 60,
    },
    {
      id: 'capacity-fade',
      title: 'Capacity more than 20 % below rating',
      kind: 'capacity_fade',
      maxFadePercent: 20,
      minSocSwingPercent: 40,
    },
    {
      id: 'bms-hardware-fault',
      title: 'The BMS reported a hardware fault',
      kind: 'bms_fault',
      alarms: ['afe_fault', 'temperature_sensor_fault', 'current_sensor_fault', 'precharge_fault'],
      // Alarm-raised events (shared/blackbox/events.ts: 0x0100 + ALARM_FLAGS bit) of the same four faults,
      // so a fault that came and went between two records is still seen.
      events: [0x010c, 0x010d, 0x010e, 0x010f],
      minDurationS: 0,
    },
  ],
};
