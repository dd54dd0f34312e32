import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { TransportInfo } from '../../../shared/types/transport.js';

/**
 * Telling identical USB-serial adapters apart. Commodity BMS boards usually hang off cheap CH340 or
 * CP210x adapters; two of the same kind share VID:PID, and CH340s carry no USB serial number, so
 * /dev/ttyUSB0 and /dev/ttyUSB1 swap whenever they are re-plugged in another order. What stays put:
 *  - the USB serial number, where the adapter has one (FTDI, CP210x, most CANables);
 *  - otherwise the physical path (which hub port it sits in): /dev/serial/by-path on Linux,
 *    serialport's locationId on Windows and macOS.
 * `adapterIdentities` gives each port a stable key from the best of those, and says when two
 * ports still cannot be told apart; `resolveAdapter` finds the port a key names today.
 */
export interface PortFacts extends TransportInfo {
  /** Physical location: by-path link name (Linux) or locationId (Windows/macOS). */
  physicalPath?: string;
}

export interface AdapterIdentity {
  path: string;
  /** Stable key: `usb:VID:PID:sn:SERIAL`, `usb:VID:PID:at:LOCATION`, or `path:PATH` as a last resort. */
  key: string;
  /** What the key rests on. */
  basis: 'serial-number' | 'physical-path' | 'device-path';
  /** Another port shares VID:PID (so the adapter type alone does not identify this one). */
  sharesVidPid: boolean;
  /** True when this port cannot be told from another by anything that survives a re-plug. */
  ambiguous: boolean;
}

export function adapterIdentities(ports: PortFacts[]): AdapterIdentity[] {
  const vidPid = (p: PortFacts) => (p.vendorId && p.productId ? `${p.vendorId.toLowerCase()}:${p.productId.toLowerCase()}` : null);
  const groups = new Map<string, PortFacts[]>();
  for (const p of ports) {
    const k = vidPid(p);
    if (k) groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  return ports.map((p) => {
    const vp = vidPid(p);
    const peers = vp ? groups.get(vp)!.filter((q) => q !== p) : [];
    // A serial number only identifies if no peer reports the same one (cloned chips often share one).
    const serialUnique = !!p.serialNumber && !peers.some((q) => q.serialNumber === p.serialNumber);
    const locationUnique = !!p.physicalPath && !peers.some((q) => q.physicalPath === p.physicalPath);
    if (vp && serialUnique)
      return { path: p.path, key: `usb:${vp}:sn:${p.serialNumber}`, basis: 'serial-number', sharesVidPid: peers.length > 0, ambiguous: false };
    if (vp && locationUnique)
      return { path: p.path, key: `usb:${vp}:at:${p.physicalPath}`, basis: 'physical-path', sharesVidPid: peers.length > 0, ambiguous: false };
    return { path: p.path, key: `path:${p.path}`, basis: 'device-path', sharesVidPid: peers.length > 0, ambiguous: peers.length > 0 };
  });
}

/** The port a stable key names now; NOT_FOUND when that adapter is not plugged in. */
export function resolveAdapter(key: string, ports: PortFacts[]): string {
  if (key.startsWith('path:')) return key.slice(5);
  const hit = adapterIdentities(ports).find((a) => a.key === key);
  if (!hit) throw new PackscopeError('NOT_FOUND', `no adapter matching ${key} is connected (${ports.length} serial port(s) present)`);
  return hit.path;
}

/**
 * Linux: maps each tty (by real path) to its /dev/serial/by-path link name, the physical USB
 * location. Missing directories (no USB serial adapters, other OS) give an empty map.
 */
export async function physicalPathsLinux(dir = '/dev/serial/by-path'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      out.set(await realpath(join(dir, n)), n);
    } catch {
      // a link whose device just vanished: skip it
    }
  }
  return out;
}

/**
 * Linux without udev (containers, minimal installs have no /dev/serial): the USB interface the tty
 * hangs off, from sysfs — its name ("1-2.3:1.0": bus 1, hub port 2, port 3, interface 0) is the
 * physical location.
 */
export async function physicalPathFromSysfs(ttyPath: string, sysRoot = '/sys'): Promise<string | undefined> {
  const name = ttyPath.split('/').pop() ?? '';
  try {
    const dev = await realpath(join(sysRoot, 'class/tty', name, 'device'));
    const leaf = dev.split('/').pop() ?? '';
    return /^\d+-[\d.]+:\d+\.\d+$/.test(leaf) ? `usb-${leaf}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Adds the physical path to a port listing (serial-ports.ts listPorts()): Linux by-path
 * links, else the sysfs USB interface, elsewhere serialport's locationId.
 */
export async function withPhysicalPaths(ports: Array<TransportInfo & { locationId?: string }>, byPathDir?: string, sysRoot?: string): Promise<PortFacts[]> {
  const links = await physicalPathsLinux(byPathDir);
  return Promise.all(
    ports.map(async (p) => {
      let real = p.path;
      try {
        real = await realpath(p.path);
      } catch {
        // not a file path (COM3) or already gone
      }
      const physicalPath = links.get(real) ?? p.locationId ?? (await physicalPathFromSysfs(p.path, sysRoot));
      return physicalPath ? { ...p, physicalPath } : { ...p };
    }),
  );
}
