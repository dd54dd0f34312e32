import { useEffect, useMemo, useState } from 'react';
import type { ClaimDraft } from '../../shared/api/desktop.js';
import { REMEDIES } from '../../shared/warranty/claim.js';
import { nativeSave } from '../common/desktop.js';
import { claimErrorInWords, FIELD_LABELS, localToday, validateClaimForm, type FormField } from './claim-form.js';
import type { Res } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { KeyProtectionNote } from '../common/KeyProtectionNote.js';
import { RecordedChart } from '../charts/RecordedChart.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { FilePicker } from '../common/FilePicker.js';
import { bytes } from '../common/format.js';
import { MAX_PHOTO_BYTES, MAX_PHOTOS, PHOTO_EXTENSIONS } from '../../shared/evidence/photos.js';
import { Findings, VerdictBanner } from '../verify/VerifyScreen.js';
import { NO_TICKET, TicketField } from '../logs/TicketField.js';

type Photo = Res<'photo.inspect'>;

const REMEDY_WORDS = { repair: 'Repair', replacement: 'Replacement', consultation: 'Advice only' } as const;

function Field({
  label,
  value,
  onChange,
  type = 'text',
  required = true,
  hint,
  error,
  id,
  max,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  type?: string;
  required?: boolean;
  hint?: string;
  error?: string;
  id: string;
  max?: string;
}) {
  return (
    <label className="field">
      <span>
        {label}
        {required ? '' : ' (optional)'}
      </span>
      <input
        type={type}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        required={required}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        max={max}
      />
      {error && (
        <small className="field-error" id={`${id}-error`} data-testid={`${id}-error`}>
          {error}
        </small>
      )}
      {hint && <small className="muted">{hint}</small>}
    </label>
  );
}

const emptyDraft = (model: string, serial: string): ClaimDraft => ({
  logPath: null,
  ticketPath: '',
  form: { customer: '', contact: '', model, serial, purchaseDate: '', failureDate: '', description: '', remedy: 'repair' },
  photos: [],
  out: null,
});

/** What a preview was made from: any change after it makes it stale (the package signs what was previewed). */
const previewKey = (d: ClaimDraft) => JSON.stringify([d.logPath, d.ticketPath, d.form, d.photos.map((p) => p.path)]);

/** The claim ticket against the chosen log, from the preview: usable, or why not and what to do. */
function TicketState({ ticket, onPullAgain, onDrop }: { ticket: NonNullable<Res<'claim.evaluate'>['ticket']>; onPullAgain(): void; onDrop(): void }) {
  const expired = ticket.expired && (
    <p>This ticket expired on {new Date(ticket.expiresAt).toLocaleDateString()}: your supplier may not accept it. Ask them for a new one.</p>
  );
  if (ticket.matchesLog) {
    return (
      <div className={ticket.expired ? 'notice' : 'ticket-state'} data-testid="claim-ticket-state">
        <p>
          <strong className="ok-text">✓ Claim ticket {ticket.claimId}</strong>: the log was downloaded with it. The package carries the ticket, so your supplier
          can tell the log was read after the claim was opened.
        </p>
        {expired}
      </div>
    );
  }
  return (
    <div className="notice" role="status" data-testid="claim-ticket-state">
      <strong>{ticket.problem}</strong>
      {expired}
      <div className="row">
        {ticket.pullAgain && (
          <button className="primary" onClick={onPullAgain} data-testid="claim-pull-again">
            Download the log again with this ticket
          </button>
        )}
        <button onClick={onDrop}>Continue without the ticket</button>
      </div>
    </div>
  );
}

/**
 * The warranty claim: which log and claim ticket, the claim form, the evaluation preview (the
 * supplier's policy applied to the board's own signed records, with findings and charts), then the
 * signed package. The draft lives in the host: leaving the screen (Go to Logs), reloading the page
 * or restarting the app keeps the form, the photos and the chosen files.
 */
export function ClaimScreen() {
  const { api, connection, dataDir, desktop, go, takePendingFile } = useApp();
  // A log handed over by the Logs screen replaces the one chosen before; the rest is kept.
  const [handed] = useState(() => takePendingFile('claim'));
  const [draft, setDraft] = useState<ClaimDraft | null>(null);
  const [preview, setPreview] = useState<{ key: string; result: Res<'claim.evaluate'> } | null>(null);
  const [created, setCreated] = useState<Res<'package.create'> | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [addingPhoto, setAddingPhoto] = useState(false);
  const [photoError, setPhotoError] = useState<UiError | null>(null);
  const [tried, setTried] = useState(false);
  // A field's problem shows once the customer has been in it (or tried to go on), not on a fresh form.
  const [touched, setTouched] = useState<ReadonlySet<FormField>>(new Set());
  const [savingAs, setSavingAs] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api
      .call('claim.draft.get', {})
      .then((d) => {
        if (!live) return;
        const base = d ?? emptyDraft(connection?.device.model ?? '', connection?.device.serial ?? '');
        setDraft(handed ? { ...base, logPath: handed } : base);
      })
      .catch((e) => live && (setError(asUiError(e)), setDraft(emptyDraft('', ''))));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api]);
  // Every change goes to the host at once: nothing typed is lost by leaving or reloading.
  useEffect(() => {
    if (draft) api.call('claim.draft.set', { draft }).catch((e) => setError(asUiError(e)));
  }, [api, draft]);

  const errors = useMemo(() => (draft ? validateClaimForm(draft.form) : {}), [draft]);
  if (!draft) {
    return (
      <section className="screen" aria-labelledby="claim-title">
        <h1 id="claim-title">Warranty claim</h1>
        <p role="status">Loading your claim…</p>
      </section>
    );
  }

  const update = (change: Partial<ClaimDraft>) => {
    setDraft((d) => (d ? { ...d, ...change } : d));
    setCreated(null);
  };
  const set = (k: FormField) => (v: string) => {
    setTouched((t) => (t.has(k) ? t : new Set(t).add(k)));
    update({ form: { ...draft.form, [k]: v } });
  };
  const { form, logPath, ticketPath, photos } = draft;
  const chooseLog = (p: string | null) => update({ logPath: p });
  const chooseTicket = (p: string) => update({ ticketPath: p });
  const valid = Object.keys(errors).length === 0;
  const shown = (k: FormField) => (tried || touched.has(k) || form[k] ? errors[k] : undefined);
  const fresh = preview !== null && preview.key === previewKey(draft);
  const result = preview?.result ?? null;

  // Each photo is checked by the host when it is picked (an image by content, within the size
  // limit), so a wrong file is reported next to the picker, not when the package is signed.
  const attach = async (path: string) => {
    setPhotoError(null);
    if (photos.some((p) => p.path === path)) return setAddingPhoto(false);
    try {
      const info: Photo = await api.call('photo.inspect', { path });
      setDraft((d) => (d ? { ...d, photos: [...d.photos, info] } : d));
      setCreated(null);
      setAddingPhoto(false);
    } catch (e) {
      setPhotoError(asUiError(e));
    }
  };
  const detach = (path: string) => update({ photos: photos.filter((p) => p.path !== path) });

  const claim = () => {
    const { failureDate, ...rest } = form;
    return { ...rest, ...(failureDate ? { failureDate } : {}) };
  };
  const fail = (e: unknown) => {
    const u = asUiError(e);
    setError(u.code === 'USAGE' ? { ...u, message: claimErrorInWords(u.message) } : u);
  };

  const evaluate = async () => {
    setTried(true);
    if (!logPath || !valid) return;
    setBusy('Evaluating the log against the warranty policy…');
    setError(null);
    setCreated(null);
    const key = previewKey(draft);
    try {
      const r = await api.call('claim.evaluate', { logPath, claim: claim(), ...(ticketPath ? { ticketPath } : {}) });
      setPreview({ key, result: r });
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  const create = async () => {
    if (!logPath || !fresh || !result) return;
    setBusy('Signing the package…');
    setError(null);
    try {
      const made = await api.call('package.create', {
        logPath,
        claim: claim(),
        photos: photos.map((p) => p.path),
        ...(draft.out ? { out: draft.out } : {}),
        ...(ticketPath ? { ticketPath } : {}),
        ...(result.previewId ? { previewId: result.previewId } : {}),
      });
      setCreated(made);
      // The next package gets a fresh name again: a chosen name is used once.
      setDraft((d) => (d ? { ...d, out: null } : d));
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  const suggested = `${dataDir}/claim-${(form.serial || 'pack').replace(/[^A-Za-z0-9_-]/g, '_')}-${localToday()}.psdiag`;
  const saveAs = async () => {
    if (!desktop) return setSavingAs(draft.out ?? suggested);
    try {
      const p = await nativeSave(api, 'Save the diagnosis package', draft.out ?? suggested, [{ name: 'Diagnosis package', extensions: ['psdiag'] }]);
      if (p) update({ out: p });
    } catch (e) {
      setError(asUiError(e));
    }
  };
  const startOver = () => {
    setDraft(emptyDraft(connection?.device.model ?? '', connection?.device.serial ?? ''));
    setPreview(null);
    setCreated(null);
    setTried(false);
    setTouched(new Set());
  };

  const ticketUsable = !!result?.ticket?.matchesLog;
  const ticketBlocks = !!result?.ticket && !result.ticket.matchesLog;
  const markers = (result?.evaluation.findings ?? []).map((f) => ({ t: Date.parse(f.from), label: f.title }));
  // What stands between the customer and the preview, in one line: empty fields by name, the rest beside their field.
  const empty = (Object.keys(errors) as FormField[]).filter((k) => !form[k].trim()).map((k) => FIELD_LABELS[k].replace(/ \(.*\)$|\?$/, '').toLowerCase());
  const wrong = (Object.keys(errors) as FormField[]).filter((k) => form[k].trim()).map((k) => FIELD_LABELS[k].replace(/ \(.*\)$|\?$/, '').toLowerCase());
  const and = (xs: string[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}` : (xs[0] ?? ''));
  const missing = [
    !logPath ? 'choose the log (step 1)' : null,
    empty.length ? `fill in ${and(empty)}` : null,
    wrong.length ? `correct ${and(wrong)} (see the note under ${wrong.length > 1 ? 'each' : 'it'})` : null,
  ].filter(Boolean);

  return (
    <section className="screen" aria-labelledby="claim-title">
      <h1 id="claim-title">Warranty claim</h1>
      <div className="grid2">
        <div className="card">
          <h2>1. The battery's log</h2>
          <p className="muted">
            The claim is decided on the records the battery signed itself. Download them on the Logs screen{connection ? '' : ' after connecting the battery'},
            then pick the file here.
          </p>
          {logPath ? (
            <p data-testid="claim-log">
              <code>{logPath}</code>{' '}
              <button className="link" onClick={() => chooseLog(null)} aria-label="Change the log file">
                change
              </button>
            </p>
          ) : (
            <>
              <FilePicker label="Log file" extensions={['.pslog']} onPick={chooseLog} initialDir={dataDir || undefined} />
              <button onClick={() => go('logs')} data-testid="claim-go-logs">
                Go to Logs to download it
              </button>
            </>
          )}
          <TicketField
            value={{ ...NO_TICKET, path: ticketPath }}
            onChange={(t) => chooseTicket(t.path)}
            allowCode={false}
            initialDir={dataDir || undefined}
            hint="If your supplier sent you a claim ticket file, attach it: the package then shows the log was read after the claim was opened. Download the log with the same ticket."
          />
        </div>
        <div className="card">
          <h2>2. About the claim</h2>
          <form className="form" onSubmit={(e) => (e.preventDefault(), void evaluate())} aria-label="Claim form" noValidate>
            <Field id="claim-customer" label={FIELD_LABELS.customer} value={form.customer} onChange={set('customer')} error={shown('customer')} />
            <Field id="claim-contact" label={FIELD_LABELS.contact} value={form.contact} onChange={set('contact')} error={shown('contact')} />
            <Field id="claim-model" label={FIELD_LABELS.model} value={form.model} onChange={set('model')} error={shown('model')} />
            <Field id="claim-serial" label={FIELD_LABELS.serial} value={form.serial} onChange={set('serial')} error={shown('serial')} />
            <Field
              id="claim-purchase"
              label={FIELD_LABELS.purchaseDate}
              type="date"
              value={form.purchaseDate}
              onChange={set('purchaseDate')}
              error={shown('purchaseDate')}
              max={localToday()}
            />
            <Field
              id="claim-failure"
              label={FIELD_LABELS.failureDate}
              type="date"
              value={form.failureDate}
              onChange={set('failureDate')}
              required={false}
              error={shown('failureDate')}
              max={localToday()}
            />
            <label className="field">
              <span>{FIELD_LABELS.description}</span>
              <textarea
                value={form.description}
                onChange={(e) => set('description')(e.target.value)}
                rows={3}
                required
                aria-invalid={shown('description') ? true : undefined}
              />
              {shown('description') && (
                <small className="field-error" data-testid="claim-description-error">
                  {shown('description')}
                </small>
              )}
            </label>
            <fieldset className="field">
              <legend>{FIELD_LABELS.remedy}</legend>
              {REMEDIES.map((r) => (
                <label key={r} className="inline">
                  <input type="radio" name="remedy" checked={form.remedy === r} onChange={() => set('remedy')(r)} /> {REMEDY_WORDS[r]}
                </label>
              ))}
            </fieldset>
            <button className="primary" type="submit" disabled={!logPath || !valid || !!busy} data-testid="claim-evaluate">
              Preview the evaluation
            </button>
            {missing.length > 0 && (
              <p className="muted small" data-testid="claim-missing">
                Before the preview: {missing.join('; ')}.
              </p>
            )}
          </form>
        </div>
      </div>
      <div className="card" aria-labelledby="claim-photos-title">
        <h2 id="claim-photos-title">3. Photos (optional)</h2>
        <p className="muted">
          The label with the serial number, any damage, the charger's display: up to {MAX_PHOTOS} JPEG, PNG, WebP or HEIC pictures of at most{' '}
          {MAX_PHOTO_BYTES / 2 ** 20} MiB each. They are signed into the package with the log.
        </p>
        {photos.length > 0 && (
          <ul className="photo-list" aria-label="Attached photos" data-testid="claim-photos">
            {photos.map((p) => (
              <li key={p.path}>
                <span>{p.name}</span>{' '}
                <span className="muted small">
                  {p.kind.toUpperCase()} · {bytes(p.bytes)}
                </span>{' '}
                <button className="link" onClick={() => detach(p.path)} aria-label={`Remove ${p.name}`}>
                  remove
                </button>
              </li>
            ))}
          </ul>
        )}
        {addingPhoto ? (
          <>
            <FilePicker label="Photo" extensions={[...PHOTO_EXTENSIONS]} onPick={(p) => void attach(p)} initialDir={dataDir || undefined} />
            <button onClick={() => (setAddingPhoto(false), setPhotoError(null))}>Done adding photos</button>
          </>
        ) : (
          <button onClick={() => setAddingPhoto(true)} disabled={photos.length >= MAX_PHOTOS}>
            {photos.length ? 'Add another photo' : 'Add a photo'}
          </button>
        )}
        {photoError && <ErrorBox error={photoError} />}
      </div>
      {busy && <p role="status">{busy}</p>}
      {error && <ErrorBox error={error} />}
      {result && !fresh && (
        <div className="notice" role="status" data-testid="claim-preview-stale">
          <strong>You changed the claim after the preview.</strong> Preview the evaluation again: the package signs exactly what the preview shows.{' '}
          <button onClick={() => void evaluate()} disabled={!logPath || !valid || !!busy}>
            Preview again
          </button>
        </div>
      )}
      {result && fresh && (
        <div data-testid="claim-preview">
          <h2>4. What the supplier will see</h2>
          <VerdictBanner evaluation={result.evaluation} verified />
          {result.ticket && <TicketState ticket={result.ticket} onPullAgain={() => go('logs', ticketPath)} onDrop={() => chooseTicket('')} />}
          <div className="card">
            <h2>Findings</h2>
            <Findings evaluation={result.evaluation} />
          </div>
          <div className="card">
            <h2>
              {result.device.model} #{result.device.serial}: the log
            </h2>
            <RecordedChart series={result.series} markers={markers} label="Log used for the claim" />
          </div>
          <div className="card">
            <h2>5. Send it</h2>
            <p>
              The package holds the battery's signed records, your claim{photos.length ? `, ${photos.length} photo${photos.length > 1 ? 's' : ''}` : ''}
              {ticketUsable ? `, claim ticket ${result.ticket!.claimId}` : ''}, the policy and this evaluation, signed by this installation. The supplier can
              check every byte.
            </p>
            <p className="small" data-testid="claim-save-to">
              Saves to {draft.out ? <code>{draft.out}</code> : <>a new file in {dataDir || 'your PackScope folder'}</>}{' '}
              <button className="link" onClick={() => void saveAs()} data-testid="claim-save-as">
                Save as…
              </button>
              {draft.out && (
                <>
                  {' '}
                  <button className="link" onClick={() => update({ out: null })}>
                    use a new name
                  </button>
                </>
              )}
            </p>
            {savingAs !== null && (
              <div className="row" data-testid="claim-save-as-form">
                <label className="inline grow">
                  Save the package as
                  <input className="grow" value={savingAs} onChange={(e) => setSavingAs(e.target.value)} aria-label="Package file name" />
                </label>
                <button
                  onClick={() => (update({ out: /\.psdiag$/i.test(savingAs.trim()) ? savingAs.trim() : `${savingAs.trim()}.psdiag` }), setSavingAs(null))}
                  disabled={!savingAs.trim()}
                >
                  Use this name
                </button>
                <button onClick={() => setSavingAs(null)}>Cancel</button>
              </div>
            )}
            <KeyProtectionNote />
            <button className="primary big" onClick={create} disabled={!!busy || ticketBlocks} data-testid="claim-create">
              Create the signed package
            </button>
            {ticketBlocks && (
              <p className="muted small">The claim ticket does not fit this log (see above): download the log again with it, or continue without it.</p>
            )}
            {created && (
              <div role="status" data-testid="claim-created-box">
                <p className="ok-text" data-testid="claim-created">
                  Saved {created.path} ({bytes(created.bytes)}, SHA-256 {created.sha256.slice(0, 16)}…)
                  {created.claimId ? `, with claim ticket ${created.claimId}` : ''}. Send this file to your supplier.
                </p>
                <div className="row">
                  {desktop && <button onClick={() => void api.call('desktop.showInFolder', { path: created.path }).catch(fail)}>Show in folder</button>}
                  <button onClick={startOver}>Start a new claim</button>
                </div>
              </div>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
