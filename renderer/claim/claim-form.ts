/**
 * The claim form's rules, checked in the form as the customer types (before anything is sent):
 * required fields, an e-mail address or phone number that can be reached, dates that are real,
 * not in the future, and a problem that did not start before the purchase. Messages are in
 * words, next to the field; the host's own checks come back in the same words.
 */
import type { ClaimDraftForm } from '../../shared/api/desktop.js';

export type FormField = keyof ClaimDraftForm;
export type FormErrors = Partial<Record<FormField, string>>;

export const FIELD_LABELS: Record<FormField, string> = {
  customer: 'Your name',
  contact: 'E-mail or phone',
  model: "Model (on the pack's label)",
  serial: 'Serial number (on the label)',
  purchaseDate: 'Purchase date',
  failureDate: 'When did the problem start?',
  description: 'What went wrong?',
  remedy: 'What would you like?',
};

const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const PHONE = /^\+?[\d\s()./-]{6,}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function realDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** Today as YYYY-MM-DD in the customer's own time zone (what a date field means to them). */
export function localToday(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}

export function validateClaimForm(f: ClaimDraftForm, today: string = localToday()): FormErrors {
  const e: FormErrors = {};
  if (!f.customer.trim()) e.customer = 'Enter your name.';
  const contact = f.contact.trim();
  if (!contact) e.contact = 'Enter an e-mail address or a phone number, so your supplier can reach you.';
  else if (contact.includes('@') ? !EMAIL.test(contact) : !PHONE.test(contact))
    e.contact = contact.includes('@')
      ? 'This e-mail address is not complete: it looks like name@example.org.'
      : 'Enter an e-mail address (name@example.org) or a phone number with at least 6 digits.';
  if (!f.model.trim()) e.model = "Enter the model as printed on the pack's label.";
  if (!f.serial.trim()) e.serial = 'Enter the serial number as printed on the label.';
  if (!f.purchaseDate) e.purchaseDate = 'Enter the date you bought the pack.';
  else if (!realDate(f.purchaseDate)) e.purchaseDate = 'This is not a date in the calendar.';
  else if (f.purchaseDate > today) e.purchaseDate = 'The purchase date is in the future. Check the year.';
  if (f.failureDate) {
    if (!realDate(f.failureDate)) e.failureDate = 'This is not a date in the calendar.';
    else if (f.failureDate > today) e.failureDate = 'This date is in the future. Leave it empty if you are not sure.';
    else if (realDate(f.purchaseDate) && f.failureDate < f.purchaseDate) e.failureDate = 'The problem cannot have started before you bought the pack.';
  }
  if (!f.description.trim()) e.description = 'Describe what went wrong, in your own words.';
  return e;
}

/**
 * A host error about the claim, in the form's words: "invalid request: params.claim.contact: …"
 * or "claim is not valid: purchaseDate: …" becomes "E-mail or phone: …".
 */
export function claimErrorInWords(message: string): string {
  const named = (field: string) => FIELD_LABELS[field as FormField] ?? field;
  return message
    .replace(/^invalid request: /, '')
    .replace(/^claim is not valid:\s*/, '')
    .replace(/(?:params\.)?claim\.(\w+)/g, (_m, f: string) => named(f))
    .replace(/^\s*(\w+): /gm, (m, f: string) => (FIELD_LABELS[f as FormField] ? `${named(f)}: ` : m))
    .replace(/\n\s*/g, '; ');
}
