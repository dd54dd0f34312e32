import { describe, expect, it } from 'vitest';
import { claimErrorInWords, localToday, validateClaimForm } from '../../../renderer/claim/claim-form.js';
import { judgeCapacity } from '../../../electron/host/selfcheck/checks.js';
import { resultInAppWords } from '../../../electron/host/api/selfcheck.js';
import { rootAgainstCertificate } from '../../../electron/host/evidence/claim-fields.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { sensorName } from '../../../shared/util/sensor-names.js';
import type { TelemetryFrame } from '../../../shared/types/domain.js';

const form = {
  customer: 'Erika',
  contact: 'erika@example.org',
  model: 'M',
  serial: 'S',
  purchaseDate: '2026-03-01',
  failureDate: '',
  description: 'shuts off',
  remedy: 'repair' as const,
};

describe('the claim form says what is wrong, in words', () => {
  const today = '2026-12-07';
  it('accepts a complete claim, with an e-mail address or a phone number', () => {
    expect(validateClaimForm(form, today)).toEqual({});
    expect(validateClaimForm({ ...form, contact: '+49 (30) 123-4567' }, today)).toEqual({});
  });
  it('refuses future dates, a failure before the purchase, an unreachable contact and empty fields', () => {
    expect(validateClaimForm({ ...form, purchaseDate: '2026-12-08' }, today).purchaseDate).toMatch(/in the future/);
    expect(validateClaimForm({ ...form, purchaseDate: '2026-02-30' }, today).purchaseDate).toMatch(/not a date/);
    expect(validateClaimForm({ ...form, failureDate: '2026-02-01' }, today).failureDate).toMatch(/before you bought/);
    expect(validateClaimForm({ ...form, failureDate: '2027-01-01' }, today).failureDate).toMatch(/in the future/);
    expect(validateClaimForm({ ...form, contact: 'erika@example' }, today).contact).toMatch(/not complete/);
    expect(validateClaimForm({ ...form, contact: '12' }, today).contact).toMatch(/phone number/);
    expect(Object.keys(validateClaimForm({ ...form, customer: ' ', description: '' }, today))).toEqual(['customer', 'description']);
    expect(localToday(new Date(2026, 0, 5))).toBe('2026-01-05');
  });
  it('turns schema paths from the host into field names', () => {
    expect(claimErrorInWords('invalid request: params.claim.contact: must not be empty')).toBe('E-mail or phone: must not be empty');
    expect(claimErrorInWords('claim is not valid:\n  purchaseDate: not a calendar date')).toBe('Purchase date: not a calendar date');
  });
});

const frame = (soh?: number): TelemetryFrame =>
  ({
    t: 0,
    packVoltage: 52,
    current: 0,
    soc: 60,
    cellVoltages: [3.3, 3.3],
    temperatures: [20],
    status: 0,
    alarms: 0,
    ...(soh === undefined ? {} : { soh }),
  }) as TelemetryFrame;

describe('self-check in the customer’s words', () => {
  it('fails a pack below the capacity the warranty promises', () => {
    expect(judgeCapacity({ frames: [frame(76)] }, DEFAULT_POLICY)).toMatchObject({ status: 'fail', measured: '76 % of the rated capacity' });
    expect(judgeCapacity({ frames: [frame(95)] }, DEFAULT_POLICY).status).toBe('pass');
    expect(judgeCapacity({ frames: [frame()] }, DEFAULT_POLICY).status).toBe('skipped');
  });
  it('names sensors for people and never tells them to use a command-line option', () => {
    expect(sensorName('cells1', 0)).toBe('Cells 1');
    expect(sensorName('mosfet', 4)).toBe('Power switch (MOSFET)');
    expect(sensorName(null, 2)).toBe('Sensor 3');
    const r = resultInAppWords({
      id: 'charger',
      title: 'Charger',
      status: 'skipped',
      measured: '',
      normal: '',
      values: {},
      meaning: "Enter your charger's rated voltage and current (--charger-voltage, --charger-current) or connect the charger.",
    });
    expect(r.meaning).toBe("Enter your charger's rated voltage and current in the charger fields of the self-check or connect the charger.");
  });
});

describe('the root key against the certificate', () => {
  it("tells the verifier's wrong root from a forged certificate", () => {
    expect(
      rootAgainstCertificate([{ id: 'device-certificate', ok: false, detail: 'device certificate was issued by key aa11, not by the given root (bb22)' }]),
    ).toEqual({
      matches: false,
      issuerKeyId: 'aa11',
      chosenKeyId: 'bb22',
    });
    expect(
      rootAgainstCertificate([{ id: 'device-certificate', ok: false, detail: 'device certificate signature does not verify against the given root' }]).matches,
    ).toBe(true);
    expect(rootAgainstCertificate([]).matches).toBeNull();
  });
});
