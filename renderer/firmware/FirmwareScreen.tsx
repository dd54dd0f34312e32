import { useCallback, useEffect, useState } from 'react';
import type { FlashResult, ImageInfo, Res } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { FilePicker, Progress } from '../common/FilePicker.js';
import { bytes } from '../common/format.js';

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
      <td>{bytes(s.totalSize)}</td>
      <td>{s.securityCounter ?? 0}</td>
      <td>{s.signature === 'valid' ? `valid (${s.signedBy})` : s.signature}</td>
      <td className={s.valid ? 'ok-text' : 'bad-text'}>{s.valid ? 'bootable' : `not bootable: ${s.problem}`}</td>
    </tr>
  );
}

export function FirmwareScreen() {
  const { api, connection, go, dataDir, takePendingFile } = useApp();
  const [status, setStatus] = useState<FwStatus | null>(null);
  const [image, setImage] = useState<ImageInfo | null>(null);
  const [confirmAfter, setConfirmAfter] = useState(false);
  const [opId, setOpId] = useState<string | null>(null);
  const [progress, setProgress] = useState<{ done: number; total: number; rate: number; etaSeconds: number | null } | null>(null);
  const [result, setResult] = useState<FlashResult | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const native = connection?.protocol === 'native';

  const refresh = useCallback(async () => {
    if (!native) return;
    try {
      setStatus(await api.call('fw.status', {}));
    } catch (e) {
      setError(asUiError(e));
    }
  }, [api, native]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => api.on('progress', (p) => p.opId === opId && setProgress(p)), [api, opId]);

  const inspect = async (path: string) => {
    setError(null);
    setResult(null);
    setBusy('Reading the image…');
    try {
      setImage(await api.call('image.inspect', { path }));
    } catch (e) {
      setImage(null);
      setError(asUiError(e));
    } finally {
      setBusy(null);
    }
  };
  // An image opened from File > Open or dropped on the window.
  const [handed] = useState(() => takePendingFile('firmware'));
  useEffect(() => {
    if (handed) void inspect(handed);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [handed]);

  const flash = async () => {
    if (!image) return;
    const id = `flash-${Date.now()}`;
    setOpId(id);
    setProgress(null);
    setError(null);
    setResult(null);
    try {
      const r = await api.call('flash.start', { path: image.path, opId: id, confirm: confirmAfter });
      // This screen flashes signed images on the connected board (native): an image result.
      if (r.protocol !== 'stm32-rom') {
        setResult(r);
        setStatus(r.status);
      }
    } catch (e) {
      setError(asUiError(e));
      void refresh();
    } finally {
      setOpId(null);
    }
  };

  const act = async (what: 'fw.confirm' | 'fw.revert') => {
    setBusy(what === 'fw.confirm' ? 'Confirming…' : 'Reverting: the board resets…');
    setError(null);
    try {
      const r = await api.call(what, {});
      setStatus(r.status);
      setResult(null);
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="screen" aria-labelledby="fw-title">
      <h1 id="fw-title">Firmware</h1>
      {!connection && (
        <div className="notice">
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
          Firmware can be written over the native protocol.
        </div>
      )}
      {status && (
        <div className="card" data-testid="fw-status">
          <h2>
            Board {status.boardId}: running {status.runningVersion ?? 'nothing'}{' '}
            {status.testing ? <span className="bad-text">in TEST mode</span> : <span className="ok-text">confirmed</span>}
          </h2>
          {status.testing && (
            <div className="notice">
              <strong>The new firmware is on trial.</strong> Check that the pack works, then keep it with Confirm. If you do nothing, the board goes back to the
              previous firmware at its next reset.
              <div className="row">
                <button className="primary" onClick={() => act('fw.confirm')} disabled={!!busy || !!opId}>
                  Confirm {status.runningVersion}
                </button>
                <button onClick={() => act('fw.revert')} disabled={!!busy || !!opId}>
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
              <SlotRow name="primary (runs)" s={status.primary} />
              <SlotRow name="secondary" s={status.secondary} />
            </tbody>
          </table>
          <p className="muted small">
            Board security counter {status.securityCounter} (older images are refused) · last boot: {status.lastEvent}
            {status.lastReason ? ` (${status.lastReason.replace(/_/g, ' ')})` : ''} · slots of {bytes(status.slotSize)}
          </p>
        </div>
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
              <p className={image.againstBoard.ok ? 'ok-text' : 'bad-text'} data-testid="verdict">
                {image.againstBoard.ok ? '✓ ' : '✗ '}
                {image.againstBoard.message}
              </p>
            )}
            {image.againstBoard?.ok && (
              <>
                <label className="inline">
                  <input type="checkbox" checked={confirmAfter} onChange={(e) => setConfirmAfter(e.target.checked)} />
                  Confirm automatically (skip the trial run)
                </label>
                <div className="row">
                  <button className="primary" onClick={flash} disabled={!!opId || !!busy} data-testid="flash">
                    Flash {image.version}
                  </button>
                  {opId && (
                    <button className="danger" onClick={() => api.call('op.cancel', { opId })}>
                      Cancel (the board keeps its current firmware)
                    </button>
                  )}
                </div>
              </>
            )}
          </div>
        )}
        {opId && <Progress label="Writing firmware" {...(progress ?? { done: 0, total: image?.size ?? 0, rate: 0, etaSeconds: null })} />}
        {result && (
          <div className="notice" role="status" data-testid="flash-result">
            <strong>
              {result.outcome === 'installed-test' && `${result.version} installed and running in test mode.`}
              {result.outcome === 'installed-confirmed' && `${result.version} installed and confirmed.`}
              {result.outcome === 'already-running' && `The board already runs ${result.version}.`}
              {result.outcome === 'confirmed-running' && `${result.version} was already there; now confirmed.`}
            </strong>
            <p>
              {bytes(result.bytesSent)} sent, {bytes(result.bytesSkipped)} already on the board, {result.seconds.toFixed(1)} s (
              {bytes(Math.round(result.payloadRate))}/s).
            </p>
          </div>
        )}
      </div>
      {error && <ErrorBox error={error} />}
    </section>
  );
}
