import { SettingsAcrossFlash } from '../settings/SettingsAcrossFlash.js';
import { useCallback, useEffect, useState } from 'react';
import type { FlashResult, FlashStartResult, ImageInfo, Res } from '../../shared/api/contract.js';
import { latestJob } from '../app/jobs.js';
import { useApp } from '../app/state.js';
import { BoardMissing } from '../common/BoardMissing.js';
import { ImageSigning, OtherLinks, RomOutcome } from './OtherLinks.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { FilePicker, Progress } from '../common/FilePicker.js';
import { bytes, fmt } from '../common/format.js';

type FwStatus = Res<'fw.status'>;
type Slot = FwStatus['primary'];

const SIGNATURE_TEXT: Record<ImageInfo['signature']['status'], string> = {
  valid: 'valid, by a key the board trusts',
  unknown_key: 'signed by a key the board does not trust (or no board connected to ask)',
  bad_signature: 'BROKEN: the signature does not verify',
  missing: 'NOT SIGNED',
};

function SlotRow({ name, s }: { name: string; s: Slot }) {
  if (!s.present)
    return (
      <tr>
        <th scope="row">{name}</th>
        <td colSpan={5} className="muted">
          empty
        </td>
      </tr>
    );
  return (
    <tr>
      <th scope="row">{name}</th>
      <td>{s.version}</td>
      <td className="nowrap">{bytes(s.totalSize)}</td>
      <td>{s.securityCounter ?? 0}</td>
      <td>{s.signature === 'valid' ? `valid (${s.signedBy})` : s.signature}</td>
      <td className={s.valid ? 'ok-text' : 'bad-text'}>{s.valid ? 'bootable' : `not bootable: ${s.problem}`}</td>
    </tr>
  );
}

/** What a finished flash job says, in words. */
function FlashOutcome({ r }: { r: FlashResult }) {
  return (
    <div className="notice" role="status" data-testid="flash-result">
      <strong>
        {r.outcome === 'installed-test' && `${r.version} installed and running in test mode.`}
        {r.outcome === 'installed-confirmed' && `${r.version} installed and confirmed.`}
        {r.outcome === 'already-running' && `The board already runs ${r.version}.`}
        {r.outcome === 'confirmed-running' && `${r.version} was already there; now confirmed.`}
      </strong>
      <p>
        {bytes(r.bytesSent)} sent, {bytes(r.bytesSkipped)} already on the board, {fmt(r.seconds, 1)} s ({bytes(Math.round(r.payloadRate))}/s).
      </p>
      {r.protocol === 'native' && r.settingsBackup && <SettingsAcrossFlash backup={r.settingsBackup} changed={r.settingsChanged ?? null} event="flash" />}
    </div>
  );
}

function clockTime(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

/** The image last inspected, kept while the app runs: leaving the screen mid-flash does not lose it. */
let rememberedImage: ImageInfo | null = null;
let rememberedStatus: { s: FwStatus; at: number } | null = null;

export function FirmwareScreen() {
  const { api, connection, go, dataDir, jobs, boardMissing, takePendingFile } = useApp();
  // The slot table as last read, and when: kept (greyed) when the board goes away.
  const [status, setStatus] = useState<{ s: FwStatus; at: number } | null>(rememberedStatus);
  useEffect(() => {
    rememberedStatus = status;
  }, [status]);
  const [image, setImage] = useState<ImageInfo | null>(rememberedImage);
  useEffect(() => {
    rememberedImage = image;
  }, [image]);
  const [confirmAfter, setConfirmAfter] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [actResult, setActResult] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const native = connection?.protocol === 'native';
  // The flash is a host job: leaving this screen does not stop it, and coming back shows it again.
  const flashJob = latestJob(jobs, 'flash');
  const flashing = flashJob?.state === 'running' ? flashJob : null;
  const flashEnded = flashJob && flashJob.state !== 'running' ? flashJob : null;
  const flashResult = flashEnded?.state === 'done' ? (flashEnded.result as FlashStartResult) : null;
  const canAct = !boardMissing && native && !flashing && !busy;

  const refresh = useCallback(async () => {
    if (!native) return;
    try {
      setStatus({ s: await api.call('fw.status', {}), at: Date.now() });
    } catch (e) {
      // A board that just went away is reported by the connection state, not as a failed read.
      const err = asUiError(e);
      if (err.code !== 'DISCONNECTED') setError(err);
    }
  }, [api, native]);

  // Every (re)connection and every flash that ends reads the slots again before they are shown as current.
  const deviceKey = connection ? `${connection.transport.path}|${connection.device.serial}|${connection.device.firmwareVersion}` : null;
  const flashEndKey = flashEnded?.id ?? null;
  // Not while a flash has the link: the slots are read when it ends.
  const flashingNow = !!flashing;
  useEffect(() => {
    if (deviceKey && !flashingNow) void refresh();
  }, [refresh, deviceKey, flashEndKey, flashingNow]);

  const inspect = useCallback(
    async (path: string, quiet = false) => {
      if (!quiet) {
        setError(null);
        setActResult(null);
        setBusy('Reading the image…');
      }
      try {
        const r = await api.call('image.inspect', { path });
        // A look again without an answer from the board keeps the verdict it gave before.
        if (!quiet || r.againstBoard) setImage(r);
      } catch (e) {
        if (!quiet) {
          setImage(null);
          setError(asUiError(e));
        }
      } finally {
        if (!quiet) setBusy(null);
      }
    },
    [api],
  );
  // The verdict against the board is only as good as the board it was asked of: ask again after a reconnect or a flash.
  const imagePath = image?.path ?? null;
  useEffect(() => {
    if (imagePath && deviceKey && !flashingNow) void inspect(imagePath, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [deviceKey, flashEndKey, flashingNow]);

  // Back on this screen during or after a flash: show the image that flash is writing.
  const jobImage = flashJob && !flashJob.id.startsWith('flash-uds') && !flashJob.id.startsWith('flash-stm32') ? flashJob.file : null;
  useEffect(() => {
    if (!imagePath && jobImage) void inspect(jobImage, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [jobImage]);
  // An image opened from File > Open or dropped on the window.
  const [handed] = useState(() => takePendingFile('firmware'));
  useEffect(() => {
    if (handed) void inspect(handed);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [handed]);

  const flash = async () => {
    if (!image) return;
    setError(null);
    setActResult(null);
    try {
      await api.call('flash.start', { path: image.path, opId: `flash-${Date.now()}`, confirm: confirmAfter });
    } catch (e) {
      // The job keeps its error and it is shown from there (also after leaving and coming back);
      // only a request refused before the job began is shown from here.
      const err = asUiError(e);
      if (err.message.startsWith('invalid request')) setError(err);
    }
  };

  const act = async (what: 'fw.confirm' | 'fw.revert') => {
    setBusy(what === 'fw.confirm' ? 'Confirming…' : 'Reverting: the board resets…');
    setError(null);
    setActResult(null);
    try {
      if (what === 'fw.confirm') {
        const r = await api.call('fw.confirm', {});
        setStatus({ s: r.status, at: Date.now() });
        setActResult(
          r.changed ? `${r.status.runningVersion} is confirmed: the board keeps it from now on.` : `${r.status.runningVersion} was already confirmed.`,
        );
      } else {
        const r = await api.call('fw.revert', {});
        setStatus({ s: r.status, at: Date.now() });
        setActResult(`Reverted: the board restarted and runs ${r.status.runningVersion ?? 'no application'} again.`);
      }
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(null);
    }
  };

  const st = status?.s ?? null;
  // Shown, but not as the board's present state, when the board is gone or not answering.
  const stale = !!boardMissing;
  const flashError = flashEnded && flashEnded.state !== 'done' ? flashEnded.error : null;

  return (
    <section className="screen" aria-labelledby="fw-title">
      <h1 id="fw-title">Firmware</h1>
      {!connection && (
        <div className="notice" data-testid="fw-no-board">
          <strong>No board connected.</strong> You can inspect an image now; to flash it,{' '}
          <button className="link" onClick={() => go('connect')}>
            connect to a board
          </button>{' '}
          first.
        </div>
      )}
      {connection && !native && (
        <div className="notice">
          <strong>
            {connection.device.model} speaks the {connection.protocol} protocol, which has no firmware update.
          </strong>{' '}
          Firmware can be written over the native protocol, or over CAN or the STM32 ROM bootloader below.
        </div>
      )}
      {connection && <BoardMissing />}
      {st && (
        <div className={`card${stale ? ' as-of' : ''}`} data-testid="fw-status" data-stale={stale ? 'true' : 'false'} data-read-at={status!.at}>
          {stale && (
            <p className="bad-text" data-testid="fw-status-stale">
              As last read at {clockTime(status!.at)}: the board is not {connection ? 'answering' : 'connected'} now, so this may no longer be true.
            </p>
          )}
          <h2>
            Board {st.boardId}: running {st.runningVersion ?? 'nothing'}{' '}
            {st.testing ? <span className="bad-text">in TEST mode</span> : <span className="ok-text">confirmed</span>}
          </h2>
          {st.testing && (
            <div className="notice">
              <strong>The new firmware is on trial.</strong> Check that the pack works, then keep it with Confirm. If you do nothing, the board goes back to the
              previous firmware at its next reset.
              <div className="row">
                <button className="primary" onClick={() => act('fw.confirm')} disabled={!canAct}>
                  Confirm {st.runningVersion}
                </button>
                <button onClick={() => act('fw.revert')} disabled={!canAct}>
                  Revert to the previous firmware
                </button>
              </div>
            </div>
          )}
          <table className="grid">
            <thead>
              <tr>
                <th>Slot</th>
                <th>Version</th>
                <th>Size</th>
                <th>Security counter</th>
                <th>Signature</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              <SlotRow name="primary (runs)" s={st.primary} />
              <SlotRow name="secondary" s={st.secondary} />
            </tbody>
          </table>
          <p className="muted small">
            Board security counter {st.securityCounter} (older images are refused) · last boot: {st.lastEvent}
            {st.lastReason ? ` (${st.lastReason.replace(/_/g, ' ')})` : ''} · slots of {bytes(st.slotSize)} · read at {clockTime(status!.at)}
          </p>
        </div>
      )}
      {actResult && (
        <p className="ok-text" role="status" data-testid="fw-act-result">
          {actResult}
        </p>
      )}
      <div className="card">
        <h2>Firmware image</h2>
        <FilePicker label="Image file" extensions={['.img', '.bin', '.hex']} onPick={inspect} initialDir={dataDir || undefined} />
        {busy && <p role="status">{busy}</p>}
        {image && (
          <div data-testid="image-info">
            <dl className="facts">
              <dt>File</dt>
              <dd>{image.path}</dd>
              <dt>Version</dt>
              <dd>
                <strong>{image.version}</strong>
              </dd>
              <dt>For board</dt>
              <dd>{image.boardId ?? <span className="bad-text">no board id</span>}</dd>
              <dt>Security counter</dt>
              <dd>{image.securityCounter ?? 0}</dd>
              <dt>Size</dt>
              <dd>{bytes(image.size)}</dd>
              <dt>Integrity</dt>
              <dd className={image.intact ? 'ok-text' : 'bad-text'}>{image.intact ? 'intact (SHA-256 matches)' : 'DAMAGED: the hash does not match'}</dd>
              <dt>Signature</dt>
              <dd className={image.signature.status === 'valid' ? 'ok-text' : 'bad-text'}>
                {SIGNATURE_TEXT[image.signature.status]}
                {image.signature.keyType ? ` · ${image.signature.keyType}` : ''}
              </dd>
              <dt>SHA-256</dt>
              <dd>
                <code>{image.hash}</code>
              </dd>
            </dl>
            {image.againstBoard && (
              <p
                className={`${image.againstBoard.ok ? 'ok-text' : 'bad-text'}${stale ? ' as-of' : ''}`}
                data-testid="verdict"
                data-stale={stale ? 'true' : 'false'}
              >
                {image.againstBoard.ok ? '✓ ' : '✗ '}
                {image.againstBoard.message}
                {stale && ' (as the board answered before it went away: connect it again to check)'}
              </p>
            )}
            {image.againstBoard?.ok && (
              <>
                <label className="inline">
                  <input type="checkbox" checked={confirmAfter} onChange={(e) => setConfirmAfter(e.target.checked)} />
                  Confirm automatically (skip the trial run)
                </label>
                <div className="row">
                  <button className="primary" onClick={flash} disabled={!canAct} data-testid="flash">
                    Flash {image.version}
                  </button>
                </div>
                {boardMissing && !flashing && (
                  <p className="why-disabled" data-testid="flash-disabled-reason">
                    {boardMissing}
                  </p>
                )}
              </>
            )}
          </div>
        )}
        {flashing && (
          <>
            <div className="row between">
              <p className="muted small">{flashing.title}</p>
              <button className="danger" onClick={() => api.call('op.cancel', { opId: flashing.id })} data-testid="cancel-flash">
                Cancel (the board keeps its current firmware)
              </button>
            </div>
            <Progress label="Writing firmware" {...(flashing.progress ?? { done: 0, total: image?.size ?? 0, rate: 0, etaSeconds: null })} />
          </>
        )}
        {flashResult && flashResult.protocol !== 'stm32-rom' && <FlashOutcome r={flashResult} />}
        {flashResult && flashResult.protocol === 'stm32-rom' && <RomOutcome r={flashResult} />}
        {flashError && (
          <ErrorBox error={flashError}>
            <p className="muted small" data-testid="flash-error-when">
              {flashEnded!.title}, ended at {clockTime(flashEnded!.endedAt ?? flashEnded!.startedAt)}.
            </p>
          </ErrorBox>
        )}
      </div>
      <OtherLinks />
      <ImageSigning />
      {error && <ErrorBox error={error} />}
    </section>
  );
}
