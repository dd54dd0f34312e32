import { useId, useState } from 'react';
import { codeFromNonce, nonceFromCode } from '../../shared/evidence/ticket.js';
import { FilePicker } from '../common/FilePicker.js';
import './ticket.css';

/** The supplier's claim ticket as the customer has it: the short code typed in, or the ticket file. */
export interface TicketChoice {
  code: string;
  path: string;
}

export const NO_TICKET: TicketChoice = { code: '', path: '' };

export const hasTicket = (t: TicketChoice) => t.path !== '' || t.code.trim() !== '';

export const fileName = (p: string) => p.split(/[\\/]/).pop() ?? p;

/**
 * What is wrong with a typed claim code, in plain words (null: it reads back through its check
 * character). The host reads the code again before the download; this only says it sooner.
 */
export function codeProblem(code: string): string | null {
  if (!code.trim()) return null;
  try {
    nonceFromCode(code);
    return null;
  } catch (e) {
    const m = (e as Error).message;
    return `${m.charAt(0).toUpperCase()}${m.slice(1)}. Check it against what your supplier gave you.`;
  }
}

/** A code that reads back, in its printed form (XXXX-XXXX-XXXX-XXXX-C); anything else as typed. */
function tidy(code: string): string {
  try {
    return codeFromNonce(nonceFromCode(code));
  } catch {
    return code;
  }
}

/**
 * The claim ticket field: the code the supplier read out or sent (when `allowCode`), or the ticket
 * file. A code is checked as soon as the customer leaves the field, or when `showProblem` asks.
 */
export function TicketField({
  value,
  onChange,
  allowCode,
  hint,
  disabled = false,
  showProblem = false,
  initialDir,
}: {
  value: TicketChoice;
  onChange: (t: TicketChoice) => void;
  allowCode: boolean;
  hint: string;
  disabled?: boolean;
  showProblem?: boolean;
  initialDir?: string | undefined;
}) {
  const id = useId();
  const [picking, setPicking] = useState(false);
  const [left, setLeft] = useState(false);
  const problem = codeProblem(value.code);
  const shown = problem && (left || showProblem) ? problem : null;
  return (
    <fieldset className="field ticket-field" data-testid="ticket-field" disabled={disabled}>
      <legend>
        Claim ticket from your supplier <span className="muted optional">(optional)</span>
      </legend>
      <p className="muted small ticket-hint">{hint}</p>
      {value.path ? (
        <div className="row chosen-ticket" data-testid="ticket-chosen">
          <code title={value.path}>{fileName(value.path)}</code>
          <button type="button" className="link" onClick={() => setPicking((p) => !p)} aria-expanded={picking} aria-label="Change the ticket file">
            change
          </button>
          <button type="button" className="link" onClick={() => (onChange(NO_TICKET), setPicking(false))} aria-label="Remove the ticket file">
            remove
          </button>
        </div>
      ) : (
        <>
          {allowCode && (
            <label className="field ticket-code" htmlFor={`${id}-code`}>
              <span>Claim code</span>
              <input
                id={`${id}-code`}
                value={value.code}
                onChange={(e) => (onChange({ code: e.target.value, path: '' }), setLeft(false))}
                onBlur={() => (setLeft(true), value.code.trim() && tidy(value.code) !== value.code && onChange({ code: tidy(value.code), path: '' }))}
                placeholder="XXXX-XXXX-XXXX-XXXX-C"
                autoComplete="off"
                spellCheck={false}
                maxLength={64}
                aria-invalid={shown ? true : undefined}
                aria-describedby={shown ? `${id}-problem` : undefined}
              />
            </label>
          )}
          {shown && (
            <p id={`${id}-problem`} className="bad-text small ticket-problem" data-testid="ticket-code-problem">
              {shown}
            </p>
          )}
          <div className="row ticket-actions">
            <button type="button" className={allowCode ? 'link' : undefined} onClick={() => setPicking((p) => !p)} aria-expanded={picking}>
              {allowCode ? 'I have a ticket file instead' : 'Choose the ticket file…'}
            </button>
          </div>
        </>
      )}
      {picking && (
        <FilePicker
          label="Ticket file"
          extensions={['.psticket']}
          onPick={(p) => (onChange({ code: '', path: p }), setPicking(false))}
          {...(initialDir ? { initialDir } : {})}
        />
      )}
    </fieldset>
  );
}
