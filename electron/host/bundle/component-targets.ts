/**
 * The targets of a bundle's components other than the board's own MCUboot slots: an ECU on CAN
 * (UDS, through the SLCAN adapter) and a processor held in its STM32 ROM bootloader (AN3155, on
 * its own serial line). This module plans the install order, asks every target what it can report
 * before anything is erased anywhere (the ECU answers, PackScope's bootloader accepts the image,
 * the ROM's part fits the image and is not read-protected), and installs one component through the
 * host's flash services (flasher/flash-backends.ts), so bundles and `packscope flash` share one
 * code path per protocol.
 *
 * Order: components that cannot be taken back (raw firmware through an ordinary UDS bootloader or
 * the STM32 ROM: once erased, the old image is gone) first, in the order the metadata lists them;
 * then MCUboot images on PackScope UDS ECUs (test boot, then confirm); the board's own MCUboot
 * slots last, so its test boot, self-test and confirm come only after every other component is
 * written and verified, and a failure anywhere before leaves the board on its confirmed image.
 */
import type { BundleComponent, ComponentTarget } from '../../../shared/bundle/metadata.js';
import { BundleRefusal, type OpenedBundle } from '../../../shared/bundle/bundle.js';
import { BUILTIN_UDS_PROFILES, parseUdsProfileJson, type UdsProfile } from '../../../shared/can/uds-profile.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { utf8Decode } from '../../../shared/util/bytes.js';
import { configDir } from '../evidence/keystore.js';
import { readInputFile } from '../flasher/files.js';
import { PackscopeError } from '../../../shared/errors.js';
import { decodeImageFile } from '../../../shared/image/index.js';
import type { FwStatus } from '../../../shared/image/fw-status.js';
import type { Parity } from '../../../shared/types/transport.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { checkImageAgainstBoard } from '../flasher/flasher.js';
import { runFlashJob } from '../flasher/flash-backends.js';
import type { TransportWrapper } from '../transport/capture.js';
import { createTransport } from '../transport/index.js';
import { readPackscopeStatus } from '../can/profile-backend.js';
import { openUdsClient } from '../can/uds-flash.js';
import { readEcuIdentity } from '../can/uds-generic.js';
import { Stm32RomClient } from '../stm32/client.js';
import { partById } from '../stm32/devices.js';
import { defaultParity } from '../stm32/flash-backend.js';
import { parseFirmware } from '../stm32/image.js';
import { checkImageFits } from '../stm32/rom-flasher.js';

/** How the host reaches the targets that are not the board's native link. */
export interface ComponentPorts {
  /** The SLCAN adapter on the CAN bus of the bundle's UDS ECUs. */
  can?: { port: string; bitrate?: number; baudRate?: number; wrapTransport?: TransportWrapper };
  /** UDS target profiles besides the built-in ones and those installed in the config directory; a component names its profile. */
  udsProfiles?: readonly UdsProfile[];
  /** The config directory whose uds-profiles/ holds installed profiles (default: the installation's). */
  profileDir?: string;
  /** The serial line of the processor held in its STM32 ROM bootloader. */
  rom?: { port: string; baudRate?: number; parity?: Parity; wrapTransport?: TransportWrapper };
}

export type ComponentClass = 'raw' | 'ecu-mcuboot' | 'board-mcuboot';

export interface PlannedComponent {
  component: BundleComponent;
  bytes: Uint8Array;
  class: ComponentClass;
  /** For UDS components: the profile the component names. */
  profile?: UdsProfile;
  /** Where it goes, for people and records. */
  where: string;
  /** What the target reported before anything was erased. */
  reported: Record<string, string | number | boolean | null>;
  /** PackScope's UDS bootloader: its firmware status as probed. */
  status?: FwStatus;
}

export interface InstalledComponent {
  from: string | null;
  to: string;
  reported: Record<string, string | number | boolean | null>;
}

const CLASS_ORDER: Record<ComponentClass, number> = { raw: 0, 'ecu-mcuboot': 1, 'board-mcuboot': 2 };
const hex = (n: number, w = 3) => `0x${n.toString(16).toUpperCase().padStart(w, '0')}`;

function udsIds(t: Extract<ComponentTarget, { kind: 'uds' }>): string {
  return `ECU ${hex(t.txId)}/${hex(t.rxId)}`;
}

/** Where an installation keeps the UDS target profiles its bundles name: `<config>/uds-profiles/<name>.json`. */
export function installedProfilePath(name: string, dir = configDir()): string | null {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) ? join(dir, 'uds-profiles', `${name}.json`) : null;
}

/** A component's profile: given for this run, built in, or installed in the config directory. */
export function profileFor(name: string, ports: Pick<ComponentPorts, 'udsProfiles' | 'profileDir'>): UdsProfile | null {
  const given = ports.udsProfiles?.find((x) => x.name === name) ?? BUILTIN_UDS_PROFILES[name];
  if (given) return given;
  const file = installedProfilePath(name, ports.profileDir);
  if (!file || !existsSync(file)) return null;
  return parseUdsProfileJson(utf8Decode(readInputFile(file, 'UDS profile')), file);
}

function requireProfile(name: string, ports: ComponentPorts): UdsProfile {
  const p = profileFor(name, ports);
  if (!p) {
    throw new BundleRefusal(
      'target_unavailable',
      `its UDS components use the target profile '${name}', which is neither built in nor in ${installedProfilePath(name, ports.profileDir) ?? 'the config directory'} (or give it with --uds-profile FILE)`,
    );
  }
  return p;
}

/** Where a component goes, in words, and which port reaches it (for inspect, before any port is given). */
export function describeTarget(c: BundleComponent): { where: string; reachedBy: 'board' | 'can' | 'rom' } {
  const t = c.target;
  if (t.kind === 'mcuboot') return { where: 'the board', reachedBy: 'board' };
  if (t.kind === 'stm32-rom') return { where: `STM32 ROM bootloader at ${hex(t.address, 8)}`, reachedBy: 'rom' };
  return { where: `${udsIds(t)} (profile ${t.profile})`, reachedBy: 'can' };
}

/** Classifies every component, checks that its target is reachable from the ports given, and orders them. */
export function planComponents(bundle: OpenedBundle, ports: ComponentPorts): PlannedComponent[] {
  const plans = bundle.metadata.components.map((c): PlannedComponent => {
    const bytes = bundle.images.get(c.name)!;
    const t = c.target;
    const bad = (why: string) => new BundleRefusal('malformed', `component '${c.name}' ${why}`);
    if (t.kind === 'mcuboot') {
      if (c.format !== 'mcuboot') throw bad(`targets an MCUboot slot but is ${c.format}`);
      return { component: c, bytes, class: 'board-mcuboot', where: 'the board (native link)', reported: {} };
    }
    if (t.kind === 'stm32-rom') {
      if (c.format === 'mcuboot') throw bad('is an MCUboot image for the STM32 ROM, which writes raw firmware (bin or ihex)');
      if (!ports.rom)
        throw new BundleRefusal('target_unavailable', `component '${c.name}' goes through the STM32 ROM bootloader: give its serial port (--rom-port)`);
      return { component: c, bytes, class: 'raw', where: `STM32 ROM on ${ports.rom.port}`, reported: {} };
    }
    const profile = requireProfile(t.profile, ports);
    if (!ports.can)
      throw new BundleRefusal('target_unavailable', `component '${c.name}' goes to ${udsIds(t)} on CAN: give the CAN adapter's port (--can-port)`);
    const where = `${udsIds(t)} on ${ports.can.port}`;
    if (profile.extensions === 'packscope') {
      if (c.format !== 'mcuboot') throw bad(`is ${c.format}, but profile '${profile.name}' (PackScope's bootloader) takes MCUboot images`);
      return { component: c, bytes, class: 'ecu-mcuboot', profile, where, reported: {} };
    }
    if (c.format === 'mcuboot') throw bad(`is an MCUboot image for profile '${profile.name}', an ordinary bootloader that takes raw firmware (bin or ihex)`);
    return { component: c, bytes, class: 'raw', profile, where, reported: {} };
  });
  // A stable sort keeps the metadata's order within each class.
  return plans
    .map((p, i) => ({ p, i }))
    .sort((a, b) => CLASS_ORDER[a.p.class] - CLASS_ORDER[b.p.class] || a.i - b.i)
    .map((x) => x.p);
}

function unavailable(plan: PlannedComponent, e: unknown): BundleRefusal {
  return new BundleRefusal('target_unavailable', `${plan.where} (component '${plan.component.name}') does not answer: ${(e as Error).message}`);
}

function firmwareOf(plan: PlannedComponent, address: number | undefined) {
  try {
    const probe = parseFirmware(plan.bytes, plan.component.name);
    return probe.format === 'ihex' ? probe : parseFirmware(plan.bytes, plan.component.name, address);
  } catch (e) {
    throw new BundleRefusal('component_mismatch', `component '${plan.component.name}' is not ${plan.component.format} firmware: ${(e as Error).message}`);
  }
}

async function probeUds(plan: PlannedComponent, ports: ComponentPorts, signal?: AbortSignal): Promise<void> {
  const t = plan.component.target as Extract<ComponentTarget, { kind: 'uds' }>;
  const can = ports.can!;
  let opened;
  try {
    opened = await openUdsClient({
      port: can.port,
      bitrate: can.bitrate ?? 500_000,
      ...(can.baudRate !== undefined ? { baudRate: can.baudRate } : {}),
      txId: t.txId,
      rxId: t.rxId,
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    throw unavailable(plan, e);
  }
  try {
    if (plan.class === 'ecu-mcuboot') {
      const status = await readPackscopeStatus(opened.client, signal).catch((e: unknown) => {
        throw unavailable(plan, e);
      });
      if (!status) throw new BundleRefusal('target_mismatch', `${plan.where} is not PackScope's bootloader, which profile '${plan.profile!.name}' names`);
      try {
        checkImageAgainstBoard(decodeImageFile(plan.bytes).image, status);
      } catch (e) {
        throw new BundleRefusal('target_mismatch', `component '${plan.component.name}' for ${plan.where}: ${(e as Error).message}`);
      }
      plan.status = status;
      Object.assign(plan.reported, { boardId: status.boardId, softwareBefore: status.runningVersion, securityCounterBefore: status.securityCounter });
      return;
    }
    firmwareOf(plan, t.address ?? plan.profile!.memory.address);
    try {
      await opened.client.request({ service: 'TesterPresent' }, signal);
    } catch (e) {
      if ((e as PackscopeError).code === 'CANCELLED') throw e;
      throw unavailable(plan, e);
    }
    const id = await readEcuIdentity(opened.client, plan.profile!, signal);
    Object.assign(plan.reported, { softwareBefore: id.softwareVersion, serial: id.serial });
  } finally {
    await opened.close().catch(() => undefined);
  }
}

async function probeRom(plan: PlannedComponent, ports: ComponentPorts, signal?: AbortSignal): Promise<void> {
  const t = plan.component.target as Extract<ComponentTarget, { kind: 'stm32-rom' }>;
  const rom = ports.rom!;
  const fw = firmwareOf(plan, t.address);
  const baudRate = rom.baudRate ?? 115200;
  const transport = createTransport(rom.port, { baudRate, parity: rom.parity ?? defaultParity(rom.port) });
  try {
    await transport.open();
  } catch (e) {
    throw unavailable(plan, e);
  }
  const client = new Stm32RomClient(transport, { baudRate, ...(signal ? { signal } : {}) });
  try {
    let productId: number;
    try {
      await client.sync();
      await client.get();
      productId = await client.getId();
    } catch (e) {
      if ((e as PackscopeError).code === 'CANCELLED') throw e;
      throw unavailable(plan, e);
    }
    const part = partById(productId);
    if (t.productId !== undefined && productId !== t.productId) {
      throw new BundleRefusal(
        'target_mismatch',
        `component '${plan.component.name}' is for STM32 product ID ${hex(t.productId)}, the ROM on ${rom.port} reports ${hex(productId)}${part ? ` (${part.name})` : ''}`,
      );
    }
    if (!part)
      throw new BundleRefusal('target_mismatch', `the ROM on ${rom.port} reports product ID ${hex(productId)}, whose flash layout PackScope does not know`);
    try {
      checkImageFits(part, fw.segments);
      await client.readMemory(part.flashBase, 4);
    } catch (e) {
      const x = e as PackscopeError;
      if (x.code === 'DEVICE') throw new BundleRefusal('target_mismatch', `the ROM on ${rom.port} refuses to read flash: readout protection is active`);
      if (x.code === 'REFUSED') throw new BundleRefusal('target_mismatch', `component '${plan.component.name}': ${x.message}`);
      throw unavailable(plan, e);
    }
    Object.assign(plan.reported, { productId, part: part.name, bootloaderVersion: client.bootloaderVersion });
  } finally {
    client.dispose();
    await transport.close().catch(() => undefined);
  }
}

/** Asks each target what it can report, before anything is erased on any of them. */
export async function probeComponentTargets(plans: PlannedComponent[], ports: ComponentPorts, signal?: AbortSignal): Promise<void> {
  for (const plan of plans) {
    if (plan.class === 'board-mcuboot') continue;
    if (plan.component.target.kind === 'stm32-rom') await probeRom(plan, ports, signal);
    else await probeUds(plan, ports, signal);
  }
}

export interface InstallComponentOptions {
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  log?: (line: string) => void;
}

/** Installs one probed component that is not the board's own slot, through the host's flash service for its protocol. */
export async function installComponent(plan: PlannedComponent, ports: ComponentPorts, o: InstallComponentOptions): Promise<InstalledComponent> {
  const c = plan.component;
  const t = c.target;
  const common = {
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.log ? { log: o.log } : {}),
    ...(o.onProgress ? { onProgress: (p: TransferProgress) => o.onProgress!({ ...p, phase: `${c.name}: ${p.phase ?? 'write'}` }) } : {}),
  };
  if (t.kind === 'stm32-rom') {
    const rom = ports.rom!;
    const fw = firmwareOf(plan, t.address);
    const r = await runFlashJob({
      protocol: 'stm32-rom',
      port: rom.port,
      firmware: plan.bytes,
      ...(fw.format === 'bin' ? { address: t.address } : {}),
      ...(rom.baudRate !== undefined ? { baudRate: rom.baudRate } : {}),
      ...(rom.parity ? { parity: rom.parity } : {}),
      ...(rom.wrapTransport ? { wrapTransport: rom.wrapTransport } : {}),
      verify: true,
      ...common,
    });
    if (!r.result.verified) throw new PackscopeError('VERIFY_FAILED', `component '${c.name}' was written but not verified`);
    return {
      from: null,
      to: c.version,
      reported: { ...plan.reported, verifiedBy: r.result.verifiedBy, bytesWritten: r.result.bytesWritten, erasedSectors: r.result.erased.length },
    };
  }
  if (t.kind !== 'uds') throw new PackscopeError('INTERNAL', `component '${c.name}' is the board's own; it installs through the native link`);
  const can = ports.can!;
  const bus = {
    port: can.port,
    bitrate: can.bitrate ?? 500_000,
    txId: t.txId,
    rxId: t.rxId,
    ...(can.baudRate !== undefined ? { baudRate: can.baudRate } : {}),
    ...(can.wrapTransport ? { wrapTransport: can.wrapTransport } : {}),
  };
  if (plan.class === 'ecu-mcuboot') {
    const seedKey = plan.profile!.securityAccess?.algorithm;
    const r = await runFlashJob({
      protocol: 'uds',
      ...bus,
      image: plan.bytes,
      confirm: true,
      ...(seedKey ? { seedKey } : {}),
      ...(plan.status ? { status: plan.status } : {}),
      ...common,
    });
    const st = r.report.status;
    if (st.runningVersion !== r.report.image.version || st.testing) {
      throw new PackscopeError('VERIFY_FAILED', `${plan.where} runs ${st.runningVersion ?? 'nothing'} after the update, not ${r.report.image.version}`);
    }
    return {
      from: (plan.reported.softwareBefore as string | null) ?? null,
      to: r.report.image.version,
      reported: { ...plan.reported, softwareAfter: st.runningVersion, securityCounterAfter: st.securityCounter },
    };
  }
  const r = await runFlashJob({
    protocol: 'uds-generic',
    ...bus,
    firmware: plan.bytes,
    ...(t.address !== undefined && c.format === 'bin' ? { address: t.address } : {}),
    profile: plan.profile!,
    ...common,
  });
  const x = r.report;
  return {
    from: x.before.softwareVersion,
    to: c.version,
    reported: { ...plan.reported, softwareAfter: x.after?.softwareVersion ?? null, checked: x.checked, crc32: x.crc32, blocks: x.blocks },
  };
}
