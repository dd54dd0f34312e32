import { sha256 } from '@noble/hashes/sha2.js';
import path from 'node:path';
import {
  BundleRefusal,
  certifyReleaseKey,
  checkBundle,
  createBundle,
  keyId,
  openBundle,
  parseCertificate,
  type BundleImage,
} from '../../../../shared/bundle/bundle.js';
import type { BundleMetadataInput } from '../../../../shared/bundle/metadata.js';
import { PackscopeError } from '../../../../shared/errors.js';
import { decodeImageFile, formatVersion, parsePrivateKeyPem, parsePublicKeyPem, securityCounterOf } from '../../../../shared/image/index.js';
import { toHex, utf8Decode } from '../../../../shared/util/bytes.js';
import { applyBundleOnPort, installationTrust, type SessionApplyResult } from '../../bundle/session-apply.js';
import { defaultDataDir } from '../../api/files.js';
import { BundleTrustStore } from '../../bundle/trust.js';
import { readInputFile, readTextFile } from '../../flasher/files.js';
import { writeFileAtomic } from '../../util/files.js';
import { numberOption, parseCommandArgs, requireOption, subcommands, type CliContext, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { captureOption } from '../device-options.js';
import type { ComponentPorts } from '../../bundle/component-targets.js';
import { InstallRecords } from '../../bundle/install-records.js';
import { FileKeyStore } from '../../evidence/keystore.js';
import { parseUdsProfileJson } from '../../../../shared/can/uds-profile.js';

/**
 * `packscope bundle`: signed firmware release bundles (.psfw). certify (root key → release key
 * certificate), create (metadata + images, signed by the release key), inspect (what a bundle
 * holds and whether this installation trusts it), apply (checks, preconditions, install, test
 * boot, self-test, confirm or revert), trust (root keys and revocations of this installation).
 */
const usage = `Usage:
  packscope bundle certify --root ROOT.pem --key RELEASE.pub.pem --vendor ID [--days N] --out CERT.json
  packscope bundle create --key RELEASE.pem --cert CERT.json --metadata META.json --image NAME=FILE ... --out OUT.psfw
  packscope bundle inspect BUNDLE.psfw [--root ROOT.pub.pem ...] [--json]
  packscope bundle apply --port P BUNDLE.psfw [--root ROOT.pub.pem ...] [--baud N] [--capture FILE.jsonl]
                         [--can-port P2 [--bitrate N] [--uds-profile FILE ...]] [--rom-port P3 [--rom-baud N]] [--json]
  packscope bundle trust [--add-root ROOT.pub.pem [--name NAME]] [--revoke KEY-ID] [--json]
  packscope bundle history [--json]

certify   A root key certifies a release key for a vendor (default 365 days): release keys rotate
          without touching what installations trust.
create    META.json is the release metadata without sizes and digests (schema, sequence, vendorId,
          boards with hardwareRevisions, created, expires, notes, preconditions, components with
          name, target, format, version, securityCounter); each --image NAME=FILE is a component's
          image. Sizes and SHA-256 are computed; MCUboot images must match their declared version
          and security counter.
inspect   Shows the release, its notes, components and preconditions, and whether this
          installation trusts it (exit 0 trusted, 7 refused, 8 not a bundle).
apply     Before anything is erased: trust chain, revocation, signature, expiry, board and
          hardware revision, a sequence not lower than this installation or this board has seen,
          component digests, and the live preconditions. Then install, test boot, self-test, and
          confirm — or revert automatically. Exit 7 for a refusal, 6 when it reverted.
          --port is the board (its identity, telemetry and MCUboot slots). Components for a
          UDS ECU go through the SLCAN adapter on --can-port (bus --bitrate, default 500000;
          profiles other than the built-in generic and packscope with --uds-profile); components
          for the STM32 ROM bootloader through --rom-port. Those targets are asked before
          anything is erased (the ECU answers, the ROM's part fits); components that cannot be
          taken back go first, the board's own last; the first failure stops the update there.
trust     Root keys trusted and key ids revoked by this installation (config directory).
history   Every component this installation installed or failed to install, each record
          signed by the installation key and chained to the one before; checked as listed
          (exit 0 all hold, 6 a record was edited or removed).`;

function refusalJson(e: unknown): unknown {
  return e instanceof BundleRefusal ? { refused: e.reason, message: e.message } : null;
}

async function certify(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    root: { type: 'string' },
    key: { type: 'string' },
    vendor: { type: 'string' },
    days: { type: 'string' },
    out: { type: 'string' },
  });
  if (positionals.length) throw new PackscopeError('USAGE', `unexpected argument '${positionals[0]}'`);
  const root = parsePrivateKeyPem(readTextFile(requireOption(values.root, 'root'), 'root key'));
  const release = parsePublicKeyPem(readTextFile(requireOption(values.key, 'key'), 'release public key'));
  const vendorId = requireOption(values.vendor, 'vendor');
  const days = numberOption(values.days, 'days', 365, 1, 3650);
  const out = requireOption(values.out, 'out');
  const now = new Date();
  const cert = certifyReleaseKey(root, release, { vendorId, notBefore: now, notAfter: new Date(now.getTime() + days * 86_400_000) });
  writeFileAtomic(out, JSON.stringify(cert, null, 2) + '\n', { exclusive: true });
  if (values.json) ctx.out(JSON.stringify({ certificate: out, releaseKeyId: keyId(release), rootKeyId: cert.body.rootKeyId, notAfter: cert.body.notAfter }));
  else ctx.out(`wrote ${out}: release key ${keyId(release).slice(0, 16)}… certified for ${vendorId} until ${cert.body.notAfter}`);
  return EXIT.OK;
}

async function create(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    key: { type: 'string' },
    cert: { type: 'string' },
    metadata: { type: 'string' },
    image: { type: 'string', multiple: true },
    out: { type: 'string' },
  });
  if (positionals.length) throw new PackscopeError('USAGE', `unexpected argument '${positionals[0]}'`);
  const releaseKey = parsePrivateKeyPem(readTextFile(requireOption(values.key, 'key'), 'release key'));
  const certFile = requireOption(values.cert, 'cert');
  const certificate = parseCertificate(JSON.parse(readTextFile(certFile, 'certificate')) as unknown, certFile);
  const metaFile = requireOption(values.metadata, 'metadata');
  // Components may leave version and security counter to their MCUboot image.
  type Loose = Omit<BundleMetadataInput, 'components'> & { components: Array<Record<string, unknown> & { name: string; format: string }> };
  let metadata: Loose;
  try {
    metadata = JSON.parse(readTextFile(metaFile, 'metadata')) as Loose;
  } catch (e) {
    if (e instanceof PackscopeError) throw e;
    throw new PackscopeError('DECODE', `${metaFile} is not JSON`);
  }
  const out = requireOption(values.out, 'out');
  const images: BundleImage[] = ((values.image as string[] | undefined) ?? []).map((spec) => {
    const eq = spec.indexOf('=');
    if (eq < 1) throw new PackscopeError('USAGE', `--image takes NAME=FILE, got '${spec}'`);
    return { name: spec.slice(0, eq), bytes: readInputFile(spec.slice(eq + 1), 'image') };
  });
  if (!Array.isArray(metadata.components)) throw new PackscopeError('USAGE', `${metaFile}: components must be a list`);
  const components = metadata.components.map((c) => {
    const img = images.find((i) => i.name === c.name);
    if (c.format !== 'mcuboot' || !img) return c;
    const decoded = decodeImageFile(img.bytes).image;
    return { ...c, version: c.version ?? formatVersion(decoded.version), securityCounter: c.securityCounter ?? securityCounterOf(decoded) ?? 0 };
  });
  const bytes = createBundle({ metadata: { ...metadata, components } as Parameters<typeof createBundle>[0]['metadata'], images, releaseKey, certificate });
  writeFileAtomic(out, bytes);
  const b = openBundle(bytes);
  if (values.json) ctx.out(JSON.stringify({ bundle: out, bytes: bytes.length, sequence: b.metadata.sequence, metadataSha256: b.metadataSha256 }));
  else ctx.out(`wrote ${out}: release ${b.metadata.sequence} of ${b.metadata.vendorId}, ${b.metadata.components.length} component(s), ${bytes.length} bytes`);
  return EXIT.OK;
}

function rootsFrom(files: string[] | undefined) {
  return (files ?? []).map((f) => parsePublicKeyPem(readTextFile(f, 'root public key')));
}

async function inspect(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { root: { type: 'string', multiple: true } }, true);
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'inspect needs exactly one BUNDLE file');
  const file = positionals[0]!;
  let b;
  try {
    b = openBundle(readInputFile(file, 'bundle'));
  } catch (e) {
    if (e instanceof BundleRefusal) throw new PackscopeError('DECODE', `${file}: ${e.message.replace(/^bundle refused: /, '')}`);
    throw e;
  }
  let trust: { trusted: boolean; refusal: unknown } = { trusted: true, refusal: null };
  try {
    checkBundle(b, installationTrust({ extraRoots: rootsFrom(values.root as string[] | undefined) }), new Date());
  } catch (e) {
    if (!(e instanceof BundleRefusal)) throw e;
    trust = { trusted: false, refusal: refusalJson(e) };
  }
  const m = b.metadata;
  if (values.json) {
    ctx.out(JSON.stringify({ file, metadata: m, metadataSha256: b.metadataSha256, releaseKeyId: b.releaseKeyId, certificate: b.certificate.body, ...trust }));
  } else {
    ctx.out(`${path.basename(file)}: release ${m.sequence} of ${m.vendorId}, created ${m.created}, expires ${m.expires}`);
    ctx.out(`  fits         ${m.boards.map((x) => `${x.boardId} (rev ${x.hardwareRevisions.join(', ')})`).join('; ')}`);
    for (const c of m.components) {
      ctx.out(
        `  component    ${c.name}: ${c.format} ${c.version} → ${c.target.kind}, security counter ${c.securityCounter}, ${c.size} bytes, sha256 ${c.sha256.slice(0, 16)}…`,
      );
    }
    const p = m.preconditions;
    const pre = [
      p.minSocPercent !== undefined ? `SOC ≥ ${p.minSocPercent} %` : null,
      p.maxCurrentA !== undefined ? `|I| ≤ ${p.maxCurrentA} A` : null,
      p.temperatureC ? `${p.temperatureC.min}…${p.temperatureC.max} °C` : null,
      p.onCharger !== undefined ? (p.onCharger ? 'on the charger' : 'off the charger') : null,
    ].filter(Boolean);
    ctx.out(`  requires     ${pre.length ? pre.join(', ') : 'nothing'}`);
    ctx.out(
      `  signed by    release key ${b.releaseKeyId.slice(0, 16)}…, certified by root ${b.certificate.body.rootKeyId.slice(0, 16)}… until ${b.certificate.body.notAfter}`,
    );
    ctx.out(`  trust        ${trust.trusted ? 'trusted by this installation' : (trust.refusal as { message: string }).message}`);
    ctx.out('');
    for (const line of m.notes.split('\n')) ctx.out(`  ${line}`);
  }
  return trust.trusted ? EXIT.OK : EXIT.REFUSED;
}

function printApply(r: SessionApplyResult, ctx: CliContext, port: string): void {
  ctx.out(
    r.outcome === 'installed'
      ? `release ${r.sequence} installed and confirmed`
      : r.outcome === 'reverted'
        ? `release ${r.sequence} REVERTED after a failed self-test: ${r.selfTest?.problems.join('; ')}`
        : `release ${r.sequence} is already installed`,
  );
  for (const c of r.components) ctx.out(`  ${c.name.padEnd(12)} ${c.from ?? 'nothing'} → ${c.to}  (${c.outcome}, ${c.target})`);
  for (const p of r.preconditions) ctx.out(`  ${p.ok ? 'ok ' : 'NO '} ${p.required} (${p.actual})`);
  ctx.out(`  now running  ${r.runningVersion ?? 'nothing'}`);
  if (!r.settingsBackup) return;
  ctx.out(`  settings     backed up before the update to ${r.settingsBackup.path}`);
  if (!r.settingsChanged.length) ctx.out('               unchanged by the update');
  else {
    ctx.out(`               ${r.settingsChanged.length} changed by the update: ${r.settingsChanged.map((d) => `${d.id} ${d.right} → ${d.left}`).join(', ')}`);
    ctx.out(`               to restore them: packscope settings restore --port ${port} ${r.settingsBackup.path}`);
  }
}

function componentPorts(values: Record<string, unknown>): ComponentPorts {
  const ports: ComponentPorts = {};
  const canPort = values['can-port'] as string | undefined;
  if (canPort) {
    ports.can = { port: canPort, bitrate: numberOption(values.bitrate as string | undefined, 'bitrate', 500_000, 10_000, 1_000_000) };
  } else if (values.bitrate !== undefined) throw new PackscopeError('USAGE', '--bitrate is the CAN bus rate: give --can-port too');
  const profiles = ((values['uds-profile'] as string[] | undefined) ?? []).map((f) => parseUdsProfileJson(utf8Decode(readInputFile(f, 'UDS profile')), f));
  if (profiles.length) ports.udsProfiles = profiles;
  const romPort = values['rom-port'] as string | undefined;
  if (romPort) {
    ports.rom = {
      port: romPort,
      ...(values['rom-baud'] !== undefined ? { baudRate: numberOption(values['rom-baud'] as string, 'rom-baud', 115200, 1200, 3_000_000) } : {}),
    };
  } else if (values['rom-baud'] !== undefined) throw new PackscopeError('USAGE', '--rom-baud is the STM32 ROM line rate: give --rom-port too');
  return ports;
}

async function apply(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      port: { type: 'string' },
      root: { type: 'string', multiple: true },
      baud: { type: 'string' },
      capture: { type: 'string' },
      'can-port': { type: 'string' },
      bitrate: { type: 'string' },
      'uds-profile': { type: 'string', multiple: true },
      'rom-port': { type: 'string' },
      'rom-baud': { type: 'string' },
    },
    true,
  );
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'apply needs exactly one BUNDLE file');
  const port = requireOption(values.port, 'port');
  const bytes = readInputFile(positionals[0]!, 'bundle');
  const extraRoots = rootsFrom(values.root as string[] | undefined);
  const baudRate = values.baud !== undefined ? numberOption(values.baud, 'baud', 115200, 300, 12_000_000) : undefined;
  const json = !!values.json;
  const capture = captureOption(values.capture);
  const ports = componentPorts(values);
  let lastPhase = '';
  const r = await applyBundleOnPort(port, {
    bundle: bytes,
    extraRoots,
    ports,
    keyStore: new FileKeyStore(),
    ...(baudRate ? { baudRate } : {}),
    ...(capture ? { wrapTransport: capture } : {}),
    signal: ctx.signal,
    settingsBackupDir: path.join(defaultDataDir(), 'settings-backups'),
    onStep: (step, detail) => ctx.err(json ? JSON.stringify({ step, detail }) : detail),
    onProgress: (p) => {
      // One line per phase: the steps already say what runs; a phase change says where it is.
      if (p.phase && p.phase !== lastPhase) {
        lastPhase = p.phase;
        if (!json) ctx.err(`  ${p.phase} (${p.total} ${p.phase.endsWith('erase') ? 'sectors' : 'bytes'})`);
      }
    },
  });
  if (json) ctx.out(JSON.stringify(r));
  else printApply(r, ctx, port);
  return r.outcome === 'reverted' ? EXIT.VERIFY_FAILED : EXIT.OK;
}

async function history(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {});
  if (positionals.length) throw new PackscopeError('USAGE', `unexpected argument '${positionals[0]}'`);
  const records = new InstallRecords();
  const checked = records.read();
  const problems = checked.flatMap((c) => c.problems);
  if (values.json) ctx.out(JSON.stringify({ file: records.file, records: checked, valid: problems.length === 0 }));
  else {
    ctx.out(`${records.file}: ${checked.length} record(s)`);
    for (const { record: r, problems: p } of checked) {
      if (r) {
        ctx.out(
          `  ${r.time}  release ${r.release.sequence}  ${r.component.name} ${r.component.version} → ${r.where}  ${r.outcome}` +
            `${r.attestation === 'device-journal' ? "  (also in the board's signed journal)" : ''}${r.error ? `: ${r.error}` : ''}`,
        );
      }
      for (const x of p) ctx.out(`  PROBLEM ${x}`);
    }
  }
  return problems.length ? EXIT.VERIFY_FAILED : EXIT.OK;
}

async function trust(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { 'add-root': { type: 'string' }, name: { type: 'string' }, revoke: { type: 'string' } });
  if (positionals.length) throw new PackscopeError('USAGE', `unexpected argument '${positionals[0]}'`);
  const store = new BundleTrustStore();
  if (values['add-root']) {
    const file = values['add-root'];
    const key = parsePublicKeyPem(readTextFile(file, 'root public key'));
    const id = store.addRoot(key, values.name ?? path.basename(file));
    if (!values.json) ctx.err(`trusting root ${id.slice(0, 16)}… (sha256 of the file ${toHex(sha256(readInputFile(file, 'root public key'))).slice(0, 16)}…)`);
  }
  if (values.revoke) store.revoke(values.revoke);
  const list = store.list();
  if (values.json) ctx.out(JSON.stringify({ file: store.file, ...list }));
  else {
    ctx.out(`${store.file}`);
    for (const r of list.roots) ctx.out(`  root     ${r.keyId}  ${r.name}`);
    for (const k of list.revoked) ctx.out(`  revoked  ${k}`);
    if (!list.roots.length) ctx.out('  no root keys: add the supplier root with --add-root ROOT.pub.pem');
  }
  return EXIT.OK;
}

export default {
  summary: 'Signed firmware release bundles (.psfw): certify, create, inspect, apply, trust, history',
  usage,
  run: subcommands('bundle', usage, { certify, create, inspect, apply, trust, history }),
} satisfies CommandModule;
