import { useEffect, useMemo, useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { RecordedChart } from '../charts/RecordedChart.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { FilePicker } from '../common/FilePicker.js';
import { bytes } from '../common/format.js';
import { MAX_PHOTO_BYTES, MAX_PHOTOS, PHOTO_EXTENSIONS } from '../../shared/evidence/photos.js';
import { Findings, VerdictBanner } from '../verify/VerifyScreen.js';
import { NO_TICKET, TicketField } from '../logs/TicketField.js';

type Remedy = 'repair' | 'replacement' | 'consultation';

interface Form {
  customer: string;
  contact: string;
  model: string;
  serial: string;
  purchaseDate: string;
  failureDate: string;
  description: string;
  remedy: Remedy;
}

function Field({
  label,
  value,
  onChange,
  type = 'text',
  required = true,
  hint,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  type?: string;
  required?: boolean;
  hint?: string;
}) {
  return (
    <label className="field">
      <span>
        {label}
        {required ? '' : ' (optional)'}
      </span>
      <input type={type} value={value} onChange={(e) => onChange(e.target.value)} required={required} />
      {hint && <small className="muted">{hint}</small>}
    </label>
  );
}

/**
 * What the customer entered, kept while they step over to the Logs screen (to download the log
 * again with their claim ticket) and back: the screen is not shown meanwhile.
 */
let kept: { logPath: string | null; form: Form; ticketPath: string; photos: Res<'photo.inspect'>[] } | null = null;

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
 * signed package.
 */
export function ClaimScreen() {
  const { api, connection, dataDir, go, takePendingFile } = useApp();
  // A log handed over by the Logs screen replaces the one chosen before; the rest is kept.
  const [handed] = useState(() => takePendingFile('claim'));
  const [logPath, setLogPath] = useState<string | null>(() => handed ?? kept?.logPath ?? null);
  const [ticketPath, setTicketPath] = useState(() => kept?.ticketPath ?? '');
  const [form, setForm] = useState<Form>(
    () =>
      kept?.form ?? {
        customer: '',
        contact: '',
        model: connection?.device.model ?? '',
        serial: connection?.device.serial ?? '',
        purchaseDate: '',
        failureDate: '',
        description: '',
        remedy: 'repair',
      },
  );
  const [preview, setPreview] = useState<Res<'claim.evaluate'> | null>(null);
  const [created, setCreated] = useState<Res<'package.create'> | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [photos, setPhotos] = useState<Res<'photo.inspect'>[]>(() => kept?.photos ?? []);
  const [addingPhoto, setAddingPhoto] = useState(false);
  const [photoError, setPhotoError] = useState<UiError | null>(null);
  const set = (k: keyof Form) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  useEffect(() => {
    kept = { logPath, form, ticketPath, photos };
  }, [logPath, form, ticketPath, photos]);
  const chooseLog = (p: string | null) => (setLogPath(p), setPreview(null), setCreated(null));
  const chooseTicket = (p: string) => (setTicketPath(p), setPreview(null), setCreated(null));

  // Each photo is checked by the host when it is picked (an image by content, within the size
  // limit), so a wrong file is reported next to the picker, not when the package is signed.
  const attach = async (path: string) => {
    setPhotoError(null);
    if (photos.some((p) => p.path === path)) return setAddingPhoto(false);
    try {
      const info = await api.call('photo.inspect', { path });
      setPhotos((ps) => [...ps, info]);
      setCreated(null);
      setAddingPhoto(false);
    } catch (e) {
      setPhotoError(asUiError(e));
    }
  };
  const detach = (path: string) => (setPhotos((ps) => ps.filter((p) => p.path !== path)), setCreated(null));

  const claim = () => {
    const { failureDate, ...rest } = form;
    return { ...rest, ...(failureDate ? { failureDate } : {}) };
  };

  const evaluate = async () => {
    if (!logPath) return;
    setBusy('Evaluating the log against the warranty policy…');
    setError(null);
    setCreated(null);
    try {
      setPreview(await api.call('claim.evaluate', { logPath, claim: claim(), ...(ticketPath ? { ticketPath } : {}) }));
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(null);
    }
  };

  const create = async () => {
    if (!logPath) return;
    setBusy('Signing the package…');
    setError(null);
    try {
      const out = `${dataDir}/claim-${form.serial.replace(/[^A-Za-z0-9_-]/g, '_')}-${new Date().toISOString().slice(0, 10)}.psdiag`;
      setCreated(await api.call('package.create', { logPath, claim: claim(), out, photos: photos.map((p) => p.path), ...(ticketPath ? { ticketPath } : {}) }));
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(null);
    }
  };

  const ticketUsable = !!preview?.ticket?.matchesLog;
  const ticketBlocks = !!preview?.ticket && !preview.ticket.matchesLog;
  const markers = useMemo(() => (preview?.evaluation.findings ?? []).map((f) => ({ t: Date.parse(f.from), label: f.title })), [preview]);
  const complete = form.customer && form.contact && form.model && form.serial && /^\d{4}-\d{2}-\d{2}$/.test(form.purchaseDate) && form.description;

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
              <button onClick={() => go('logs')}>Go to Logs to download it</button>
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
          <form className="form" onSubmit={(e) => (e.preventDefault(), void evaluate())} aria-label="Claim form">
            <Field label="Your name" value={form.customer} onChange={set('customer')} />
            <Field label="E-mail or phone" value={form.contact} onChange={set('contact')} />
            <Field label="Model (on the pack's label)" value={form.model} onChange={set('model')} />
            <Field label="Serial number (on the label)" value={form.serial} onChange={set('serial')} />
            <Field label="Purchase date" type="date" value={form.purchaseDate} onChange={set('purchaseDate')} />
            <Field label="When did the problem start?" type="date" value={form.failureDate} onChange={set('failureDate')} required={false} />
            <label className="field">
              <span>What went wrong?</span>
              <textarea value={form.description} onChange={(e) => set('description')(e.target.value)} rows={3} required />
            </label>
            <fieldset className="field">
              <legend>What would you like?</legend>
              {(['repair', 'replacement', 'consultation'] as const).map((r) => (
                <label key={r} className="inline">
                  <input type="radio" name="remedy" checked={form.remedy === r} onChange={() => set('remedy')(r)} />{' '}
                  {r === 'repair' ? 'Repair' : r === 'replacement' ? 'Replacement' : 'Advice only'}
                </label>
              ))}
            </fieldset>
            <button className="primary" type="submit" disabled={!logPath || !complete || !!busy} data-testid="claim-evaluate">
              Preview the evaluation
            </button>
            {!complete && <p className="muted small">Fill in every field (the date of the problem is optional).</p>}
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
      {preview && (
        <div data-testid="claim-preview">
          <h2>4. What the supplier will see</h2>
          <VerdictBanner evaluation={preview.evaluation} verified />
          {preview.ticket && <TicketState ticket={preview.ticket} onPullAgain={() => go('logs', ticketPath)} onDrop={() => chooseTicket('')} />}
          <div className="card">
            <h2>Findings</h2>
            <Findings evaluation={preview.evaluation} />
          </div>
          <div className="card">
            <h2>
              {preview.device.model} #{preview.device.serial}: the log
            </h2>
            <RecordedChart series={preview.series} markers={markers} label="Log used for the claim" />
          </div>
          <div className="card">
            <h2>5. Send it</h2>
            <p>
              The package holds the battery's signed records, your claim{photos.length ? `, ${photos.length} photo${photos.length > 1 ? 's' : ''}` : ''}
              {ticketUsable ? `, claim ticket ${preview.ticket!.claimId}` : ''}, the policy and this evaluation, signed by this installation. The supplier can
              check every byte.
            </p>
            <button className="primary big" onClick={create} disabled={!!busy || ticketBlocks} data-testid="claim-create">
              Create the signed package
            </button>
            {ticketBlocks && (
              <p className="muted small">The claim ticket does not fit this log (see above): download the log again with it, or continue without it.</p>
            )}
            {created && (
              <p className="ok-text" role="status" data-testid="claim-created">
                Saved {created.path} ({bytes(created.bytes)}, SHA-256 {created.sha256.slice(0, 16)}…)
                {created.claimId ? `, with claim ticket ${created.claimId}` : ''}. Send this file to your supplier.
              </p>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
