import { useEffect, useState } from 'react';
import type { Res, RomFlashResult } from '../../shared/api/contract.js';
import { SEED_KEY_ALGORITHMS } from '../../shared/can/seedkey.js';
import { latestJob } from '../app/jobs.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { FilePicker } from '../common/FilePicker.js';
import { bytes, fmt } from '../common/format.js';

/**
 * The R&D bench of the Firmware screen: flashing over links other than the connected board's
 * (UDS over CAN through an SLCAN adapter; the STM32 ROM bootloader for a board whose application
 * is broken), a CAN monitor, and signing images. Every option is a field, none is a command-line
 * word; flashes run as host jobs like the main one, so their progress shows above and in the sidebar.
 */
const BITRATES = [125_000, 250_000, 500_000, 1_000_000];
const ROM_BAUDS = [9600, 19_200, 38_400, 57_600, 115_200];

function hex(n: number): string {
  return `0x${n.toString(16).toUpperCase()}`;
}

function parseHex(text: string): number | null {
  const t = text.trim();
  if (!/^(0x)?[0-9a-f]+$/i.test(t)) return null;
  const n = parseInt(t.replace(/^0x/i, ''), 16);
  return Number.isSafeInteger(n) ? n : null;
}

/** A port field with the ports the host sees as suggestions. */
export function PortField({ value, onChange, label }: { value: string; onChange: (v: string) => void; label: string }) {
  const { api } = useApp();
  const [ports, setPorts] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    api
      .call('ports.list', {})
      .then((p) => live && setPorts(p.filter((x) => x.kind !== 'sim').map((x) => x.path)))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api]);
  const id = `ports-${label.replace(/\W+/g, '-')}`;
  return (
    <label className="inline">
      {label}
      <input value={value} onChange={(e) => onChange(e.target.value)} list={id} placeholder="/dev/ttyACM0, COM5…" aria-label={label} size={24} />
      <datalist id={id}>
        {ports.map((p) => (
          <option key={p} value={p} />
        ))}
      </datalist>
    </label>
  );
}

/** A CAN bitrate choice: the flash form's and the monitor's. */
function BitrateField(p: { label: string; name: string; value: number; onChange: (v: number) => void; disabled?: boolean }) {
  return (
    <label className="inline">
      {p.label}
      <select value={p.value} onChange={(e) => p.onChange(Number(e.target.value))} aria-label={p.name} disabled={p.disabled}>
        {BITRATES.map((b) => (
          <option key={b} value={b}>
            {b / 1000} kbit/s
          </option>
        ))}
      </select>
    </label>
  );
}

const VERIFIED_BY: Record<NonNullable<RomFlashResult['verifiedBy']>, string> = {
  checksum: " and verified by the bootloader's CRC",
  'read-back': ' and read back identical',
  'checksum+read-back': " and verified (the bootloader's CRC, then a read-back where it differed)",
};

export function RomOutcome({ r }: { r: RomFlashResult }) {
  return (
    <div className="notice" role="status" data-testid="flash-result">
      <strong>
        {r.part}: {bytes(r.bytesWritten)} written{r.verified ? VERIFIED_BY[r.verifiedBy ?? 'read-back'] : ''}.
      </strong>
      <p>
        {r.blocksSkipped} empty blocks skipped, {r.retries} retries, {fmt(r.seconds, 1)} s.{' '}
        {r.started !== null ? `The application was started at ${hex(r.started)}.` : 'The board stays in its bootloader: reset it to start the application.'}
      </p>
    </div>
  );
}

type Link = 'uds' | 'stm32-rom';

export function OtherLinks() {
  const { api, jobs, connection, dataDir } = useApp();
  const [link, setLink] = useState<Link>('uds');
  const [file, setFile] = useState<string | null>(null);
  const [port, setPort] = useState('');
  const [bitrate, setBitrate] = useState(500_000);
  const [txId, setTxId] = useState('0x7E0');
  const [rxId, setRxId] = useState('0x7E8');
  const [seedKey, setSeedKey] = useState('packscope-hmac');
  const [confirm, setConfirm] = useState(false);
  const [romBaud, setRomBaud] = useState(115_200);
  const [address, setAddress] = useState('0x08000000');
  const [erase, setErase] = useState<'touched' | 'mass'>('touched');
  const [verify, setVerify] = useState(true);
  const [go, setGo] = useState(true);
  const [error, setError] = useState<UiError | null>(null);
  const flashing = latestJob(jobs, 'flash')?.state === 'running';

  const tx = parseHex(txId);
  const rx = parseHex(rxId);
  const addr = parseHex(address);
  const problem = !file
    ? 'Choose the firmware file first.'
    : !port.trim()
      ? 'Enter the port of the adapter or the board.'
      : connection && connection.transport.path === port.trim()
        ? 'That is the connected board’s port: disconnect it on the Connect screen first.'
        : link === 'uds' && (tx === null || rx === null || tx > 0x1fffffff || rx > 0x1fffffff)
          ? 'The CAN identifiers are hexadecimal numbers such as 0x7E0.'
          : link === 'stm32-rom' && /\.bin$/i.test(file) && addr === null
            ? 'The start address is a hexadecimal number such as 0x08000000.'
            : flashing
              ? 'A flash is running; wait for it to end.'
              : null;

  const start = async () => {
    if (problem || !file) return;
    setError(null);
    const opId = `flash-${link}-${Date.now()}`;
    try {
      if (link === 'uds') {
        await api.call('flash.start', { protocol: 'uds', path: file, opId, port: port.trim(), bitrate, txId: tx!, rxId: rx!, seedKey, confirm });
      } else {
        await api.call('flash.start', {
          protocol: 'stm32-rom',
          path: file,
          opId,
          port: port.trim(),
          baudRate: romBaud,
          ...(/\.bin$/i.test(file) ? { address: addr! } : {}),
          erase,
          verify,
          go,
        });
      }
    } catch (e) {
      // A request the host refused before the job began (the job keeps every later error).
      const err = asUiError(e);
      if (err.message.startsWith('invalid request')) setError(err);
    }
  };

  return (
    <details className="card" data-testid="other-links">
      <summary>
        <h2 className="inline-heading">Flash over CAN (UDS) or recover over the STM32 ROM bootloader</h2>
      </summary>
      <div className="segmented" role="group" aria-label="Link">
        <button aria-pressed={link === 'uds'} onClick={() => (setLink('uds'), setFile(null))}>
          UDS over CAN
        </button>
        <button aria-pressed={link === 'stm32-rom'} onClick={() => (setLink('stm32-rom'), setFile(null))}>
          STM32 ROM recovery
        </button>
      </div>
      <p className="muted small">
        {link === 'uds'
          ? 'A signed image goes to the board through a USB-CAN adapter (SLCAN): session, security access, erase, download, check, reset.'
          : 'Raw firmware (.bin or Intel HEX) goes into the STM32’s flash through its ROM bootloader (BOOT0 high, then reset): for a board whose application no longer starts.'}
      </p>
      <FilePicker
        key={link}
        label={link === 'uds' ? 'Signed image' : 'Firmware file'}
        extensions={link === 'uds' ? ['.img', '.bin', '.hex'] : ['.bin', '.hex']}
        onPick={setFile}
        initialDir={dataDir || undefined}
      />
      {file && <p className="small">Chosen: {file}</p>}
      <div className="row wrap">
        <PortField label={link === 'uds' ? 'CAN adapter port' : 'Board port'} value={port} onChange={setPort} />
        {link === 'uds' ? (
          <>
            <BitrateField label="CAN bitrate" name="CAN bitrate" value={bitrate} onChange={setBitrate} />
            <label className="inline">
              Request ID
              <input value={txId} onChange={(e) => setTxId(e.target.value)} size={8} aria-label="Request ID" />
            </label>
            <label className="inline">
              Response ID
              <input value={rxId} onChange={(e) => setRxId(e.target.value)} size={8} aria-label="Response ID" />
            </label>
            <label className="inline">
              Security access
              <select value={seedKey} onChange={(e) => setSeedKey(e.target.value)} aria-label="Security access algorithm">
                {Object.keys(SEED_KEY_ALGORITHMS).map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            </label>
            <label className="inline">
              <input type="checkbox" checked={confirm} onChange={(e) => setConfirm(e.target.checked)} />
              Confirm automatically (skip the trial run)
            </label>
          </>
        ) : (
          <>
            <label className="inline">
              Line rate
              <select value={romBaud} onChange={(e) => setRomBaud(Number(e.target.value))} aria-label="Bootloader line rate">
                {ROM_BAUDS.map((b) => (
                  <option key={b} value={b}>
                    {b} baud
                  </option>
                ))}
              </select>
            </label>
            {file && /\.bin$/i.test(file) && (
              <label className="inline">
                Start address
                <input value={address} onChange={(e) => setAddress(e.target.value)} size={12} aria-label="Start address" />
              </label>
            )}
            <label className="inline">
              Erase
              <select value={erase} onChange={(e) => setErase(e.target.value as 'touched' | 'mass')} aria-label="Erase">
                <option value="touched">only the sectors the image uses</option>
                <option value="mass">the whole flash</option>
              </select>
            </label>
            <label className="inline">
              <input type="checkbox" checked={verify} onChange={(e) => setVerify(e.target.checked)} />
              Read back and compare
            </label>
            <label className="inline">
              <input type="checkbox" checked={go} onChange={(e) => setGo(e.target.checked)} />
              Start the application afterwards
            </label>
          </>
        )}
      </div>
      <div className="row">
        <button className="primary" onClick={start} disabled={!!problem} data-testid="flash-other">
          {link === 'uds' ? 'Flash over CAN' : 'Recover over the ROM bootloader'}
        </button>
      </div>
      {problem && <p className="why-disabled">{problem}</p>}
      {error && <ErrorBox error={error} />}
      <CanMonitor />
    </details>
  );
}

/** The frames on a CAN bus, as they arrive, through an SLCAN adapter. */
function CanMonitor() {
  const { api, jobs } = useApp();
  const [port, setPort] = useState('');
  const [bitrate, setBitrate] = useState(500_000);
  const [frames, setFrames] = useState<Res<'can.monitor'>['last']>([]);
  const [error, setError] = useState<UiError | null>(null);
  const job = latestJob(jobs, 'can-monitor');
  const running = job?.state === 'running' ? job : null;
  const runningId = running?.id ?? null;
  useEffect(() => {
    if (!runningId) return;
    return api.on('can-frames', (e) => e.opId === runningId && setFrames((f) => [...f, ...e.frames].slice(-200)));
  }, [api, runningId]);
  const ended = job && job.state !== 'running' ? (job.result as Res<'can.monitor'> | undefined) : undefined;

  const start = async () => {
    setError(null);
    setFrames([]);
    try {
      await api.call('can.monitor', { opId: `can-${Date.now()}`, port: port.trim(), bitrate, listenOnly: true });
    } catch (e) {
      const err = asUiError(e);
      if (err.message.startsWith('invalid request')) setError(err);
    }
  };

  return (
    <div className="card" data-testid="can-monitor">
      <h2>CAN monitor</h2>
      <div className="row wrap">
        <PortField label="Monitor adapter port" value={port} onChange={setPort} />
        <BitrateField label="Bitrate" name="Monitor bitrate" value={bitrate} onChange={setBitrate} disabled={!!running} />
        {running ? (
          <button className="danger" onClick={() => void api.call('op.cancel', { opId: running.id })}>
            Stop ({running.progress?.phase ?? 'listening'})
          </button>
        ) : (
          <button onClick={start} disabled={!port.trim()}>
            Listen (the adapter only listens, it never sends)
          </button>
        )}
      </div>
      {ended?.hint && <p className="notice">{ended.hint}</p>}
      {job?.state === 'failed' && job.error && <ErrorBox error={job.error} />}
      {(frames.length > 0 || (ended?.last.length ?? 0) > 0) && (
        <pre className="scroll candump" aria-label="CAN frames">
          {(frames.length ? frames : (ended?.last ?? [])).map((f) => `${new Date(f.t).toLocaleTimeString()}  ${f.text}`).join('\n')}
        </pre>
      )}
      {error && <ErrorBox error={error} />}
    </div>
  );
}

/** Signs a firmware payload into an image the boards accept; makes a lab key when there is none. */
export function ImageSigning() {
  const { api, dataDir } = useApp();
  const [input, setInput] = useState<string | null>(null);
  const [key, setKey] = useState<string | null>(null);
  const [version, setVersion] = useState('');
  const [board, setBoard] = useState('');
  const [counter, setCounter] = useState('');
  const [out, setOut] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const { connection } = useApp();
  const boardId = board || connection?.device.boardId || '';
  const counterValue = counter.trim() === '' ? undefined : Number(counter);
  const output = out.trim() || (input && version ? input.replace(/(\.[a-z0-9]+)?$/i, `-${version}.img`) : '');
  const problem = !input
    ? 'Choose the firmware payload.'
    : !key
      ? 'Choose a signing key (or make a lab key).'
      : !/^\d+\.\d+\.\d+(\+\d+)?$/.test(version.trim())
        ? 'Enter the version as 1.2.3 or 1.2.3+4.'
        : !boardId
          ? 'Enter the board id the image is for.'
          : counterValue !== undefined && !(Number.isInteger(counterValue) && counterValue >= 0)
            ? 'The security counter is a whole number (or empty).'
            : null;

  const sign = async () => {
    if (problem) return;
    setError(null);
    setDone(null);
    try {
      const r = await api.call('image.sign', {
        input: input!,
        out: output,
        keyPath: key!,
        version: version.trim(),
        boardId,
        ...(counterValue !== undefined ? { securityCounter: counterValue } : {}),
      });
      setDone(`Signed ${r.path}: version ${r.version} for board ${r.boardId}, ${bytes(r.size)}, ${r.keyType} key. Pick it above to inspect or flash it.`);
    } catch (e) {
      setError(asUiError(e));
    }
  };

  const keygen = async () => {
    setError(null);
    try {
      const r = await api.call('image.keygen', { out: `${dataDir}/lab-signing-${Date.now()}.pem`, type: 'ed25519' });
      setKey(r.privateKey);
      setDone(`Made a lab key ${r.privateKey} (public key ${r.publicKey}). Keep production keys in an HSM or on an offline signing host.`);
    } catch (e) {
      setError(asUiError(e));
    }
  };

  return (
    <details className="card" data-testid="image-signing">
      <summary>
        <h2 className="inline-heading">Sign an image</h2>
      </summary>
      <FilePicker label="Firmware payload" extensions={['.bin', '.hex']} onPick={setInput} initialDir={dataDir || undefined} />
      {input && <p className="small">Payload: {input}</p>}
      <FilePicker label="Signing key" extensions={['.pem']} onPick={setKey} initialDir={dataDir || undefined} />
      <div className="row wrap">
        <span className="small">{key ? `Key: ${key}` : 'No key chosen.'}</span>
        <button onClick={keygen}>Make a lab key</button>
      </div>
      <div className="row wrap">
        <label className="inline">
          Version
          <input value={version} onChange={(e) => setVersion(e.target.value)} placeholder="1.2.3" size={10} aria-label="Image version" />
        </label>
        <label className="inline">
          Board id
          <input value={boardId} onChange={(e) => setBoard(e.target.value)} size={18} aria-label="Board id" />
        </label>
        <label className="inline">
          Security counter
          <input value={counter} onChange={(e) => setCounter(e.target.value)} size={6} inputMode="numeric" aria-label="Security counter" />
        </label>
        <label className="inline grow">
          Save as
          <input className="grow" value={output} onChange={(e) => setOut(e.target.value)} aria-label="Signed image file" />
        </label>
      </div>
      <button className="primary" onClick={sign} disabled={!!problem} data-testid="sign">
        Sign
      </button>
      {problem && <p className="why-disabled">{problem}</p>}
      {done && (
        <p className="ok-text" role="status" data-testid="sign-result">
          {done}
        </p>
      )}
      {error && <ErrorBox error={error} />}
    </details>
  );
}
