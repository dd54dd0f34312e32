import { accessSync, constants, existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { TransportInfo } from '../../../shared/types/transport.js';

/**
 * Serial port listing with USB identity, so known adapters are recognised by VID:PID.
 *
 * On Linux, serialport's SerialPort.list() shells out to `udevadm`; where that binary is missing
 * (containers, minimal installs) the failed spawn takes the process down. So we look for udevadm
 * on PATH first and otherwise read the same facts straight from sysfs: /sys/class/tty/NAME/device
 * leads to the USB interface, whose parent holds idVendor, idProduct, manufacturer and serial.
 */
export interface PortInfo extends TransportInfo {
  kind: 'serial';
  /** USB product string, where the adapter reports one. */
  product?: string;
  /** Kernel driver (ch341, cp210x, ftdi_sio, pl2303, cdc_acm ...). */
  driver?: string;
}

interface AdapterEntry {
  vid: string;
  pids: string[] | '*';
  name: string;
}

/** Known USB-serial and USB-CAN adapters (lower-case hex). */
export const ADAPTERS: AdapterEntry[] = [
  { vid: '1a86', pids: ['7523', '5523', '7522', '55d3', '55d4', '55d2'], name: 'CH340' },
  { vid: '10c4', pids: ['ea60', 'ea70', 'ea71', 'ea63', 'ea80'], name: 'CP210x' },
  { vid: '0403', pids: ['6001', '6010', '6011', '6014', '6015'], name: 'FTDI' },
  { vid: '067b', pids: ['2303', '23a3', '23c3', '23d3'], name: 'PL2303' },
  { vid: '1d50', pids: ['606f'], name: 'CANable (SLCAN/candleLight)' },
  { vid: '16d0', pids: ['117e'], name: 'CANable (SLCAN)' },
  { vid: '0483', pids: ['5740'], name: 'STM32 Virtual COM Port' },
  { vid: '0483', pids: ['374b', '3752', '374e', '374f', '3753'], name: 'ST-LINK VCP' },
  { vid: '2341', pids: '*', name: 'Arduino' },
  { vid: '239a', pids: '*', name: 'Adafruit' },
  { vid: '303a', pids: ['1001'], name: 'ESP32 USB-JTAG/serial' },
  { vid: '2e8a', pids: ['000a', '0005'], name: 'Raspberry Pi Pico (CDC)' },
  { vid: '04d8', pids: ['000a', '00df'], name: 'Microchip MCP2200/CDC' },
  { vid: '0c72', pids: ['000c', '000d'], name: 'PEAK PCAN-USB' },
  { vid: '1cbe', pids: ['021a'], name: 'Lawicel CANUSB' },
  { vid: '0403', pids: ['ffa8'], name: 'Lawicel CANUSB (FTDI)' },
];

export function recogniseAdapter(vendorId?: string, productId?: string): string | undefined {
  if (!vendorId) return undefined;
  const vid = vendorId.toLowerCase().padStart(4, '0');
  const pid = (productId ?? '').toLowerCase().padStart(4, '0');
  return ADAPTERS.find((a) => a.vid === vid && (a.pids === '*' || a.pids.includes(pid)))?.name;
}

function onPath(binary: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, binary), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

function readAttr(dir: string, name: string): string | undefined {
  try {
    const v = readFileSync(path.join(dir, name), 'utf8').trim();
    return v || undefined;
  } catch {
    return undefined;
  }
}

/** Lists serial devices from sysfs (Linux). `sysRoot` and `devRoot` are parameters for tests. */
export function listPortsFromSysfs(sysRoot = '/sys', devRoot = '/dev'): PortInfo[] {
  const ttyDir = path.join(sysRoot, 'class/tty');
  let names: string[];
  try {
    names = readdirSync(ttyDir);
  } catch {
    return [];
  }
  const out: PortInfo[] = [];
  for (const name of names.sort()) {
    const devLink = path.join(ttyDir, name, 'device');
    if (!existsSync(devLink)) continue; // virtual terminals and ptys have no device
    let dev: string;
    try {
      dev = realpathSync(devLink);
    } catch {
      continue;
    }
    let driver: string | undefined;
    try {
      driver = path.basename(realpathSync(path.join(dev, 'driver')));
    } catch {
      driver = undefined;
    }
    // Legacy 8250 UART slots exist whether or not a UART is fitted; serialport skips them too.
    if (driver === 'serial8250') continue;
    const info: PortInfo = { kind: 'serial', path: path.join(devRoot, name), ...(driver ? { driver } : {}) };
    // Walk up from the interface to the USB device that carries idVendor.
    for (let d = dev, i = 0; i < 6 && d.startsWith(sysRoot) && d !== sysRoot; d = path.dirname(d), i++) {
      const vid = readAttr(d, 'idVendor');
      if (!vid) continue;
      info.vendorId = vid;
      const pid = readAttr(d, 'idProduct');
      if (pid) info.productId = pid;
      const m = readAttr(d, 'manufacturer');
      if (m) info.manufacturer = m;
      const sn = readAttr(d, 'serial');
      if (sn) info.serialNumber = sn;
      const product = readAttr(d, 'product');
      if (product) info.product = product;
      break;
    }
    const adapter = recogniseAdapter(info.vendorId, info.productId);
    if (adapter) info.adapter = adapter;
    out.push(info);
  }
  return out;
}

/** Lists serial ports with their USB identity; never throws for a missing helper tool. */
export async function listPorts(): Promise<PortInfo[]> {
  if (process.platform === 'linux' && !onPath('udevadm')) return listPortsFromSysfs();
  try {
    const { SerialPort } = await import('serialport');
    const ports = await SerialPort.list();
    return ports.map((p) => {
      const info: PortInfo = { kind: 'serial', path: p.path };
      if (p.vendorId) info.vendorId = p.vendorId.toLowerCase();
      if (p.productId) info.productId = p.productId.toLowerCase();
      if (p.manufacturer) info.manufacturer = p.manufacturer;
      if (p.serialNumber) info.serialNumber = p.serialNumber;
      const adapter = recogniseAdapter(info.vendorId, info.productId);
      if (adapter) info.adapter = adapter;
      return info;
    });
  } catch {
    return process.platform === 'linux' ? listPortsFromSysfs() : [];
  }
}
