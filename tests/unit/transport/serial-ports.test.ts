import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listPortsFromSysfs, recogniseAdapter } from '../../../electron/host/transport/serial-ports.js';

/** A fake /sys with one CH340 behind a hub, one CANable (CDC ACM), a legacy 8250 slot and a vt. */
const root = mkdtempSync(path.join(tmpdir(), 'sysfs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function usbDevice(dir: string, attrs: Record<string, string>, iface: string, driver: string): string {
  const dev = path.join(root, 'devices/pci0000:00/usb1', dir);
  mkdirSync(path.join(dev, iface), { recursive: true });
  for (const [k, v] of Object.entries(attrs)) writeFileSync(path.join(dev, k), v + '\n');
  mkdirSync(path.join(root, 'bus/usb-serial/drivers', driver), { recursive: true });
  symlinkSync(path.join(root, 'bus/usb-serial/drivers', driver), path.join(dev, iface, 'driver'));
  return path.join(dev, iface);
}

function tty(name: string, device: string | null): void {
  const d = path.join(root, 'class/tty', name);
  mkdirSync(d, { recursive: true });
  if (device) symlinkSync(device, path.join(d, 'device'));
}

tty(
  'ttyUSB0',
  usbDevice('1-1/1-1.2', { idVendor: '1a86', idProduct: '7523', manufacturer: 'QinHeng Electronics', product: 'USB Serial' }, '1-1.2:1.0/ttyUSB0', 'ch341'),
);
tty('ttyACM0', usbDevice('1-2', { idVendor: '1d50', idProduct: '606f', manufacturer: 'canable.io', serial: '004A0031' }, '1-2:1.0', 'cdc_acm'));
const legacy = path.join(root, 'devices/platform/serial8250/tty/ttyS0');
mkdirSync(legacy, { recursive: true });
mkdirSync(path.join(root, 'bus/platform/drivers/serial8250'), { recursive: true });
symlinkSync(path.join(root, 'bus/platform/drivers/serial8250'), path.join(legacy, 'driver'));
tty('ttyS0', legacy);
tty('tty1', null);

describe('port listing from sysfs', () => {
  it('finds USB serial adapters with their identity and skips virtual and legacy ports', () => {
    const ports = listPortsFromSysfs(root, '/dev');
    expect(ports.map((p) => p.path)).toEqual(['/dev/ttyACM0', '/dev/ttyUSB0']);
    expect(ports[1]).toMatchObject({
      vendorId: '1a86',
      productId: '7523',
      manufacturer: 'QinHeng Electronics',
      adapter: 'CH340',
      driver: 'ch341',
      product: 'USB Serial',
    });
    expect(ports[0]).toMatchObject({ vendorId: '1d50', productId: '606f', serialNumber: '004A0031', adapter: 'CANable (SLCAN/candleLight)' });
  });

  it('returns nothing (not an exception) when sysfs is absent', () => {
    expect(listPortsFromSysfs(path.join(root, 'nope'))).toEqual([]);
  });

  it('recognises the adapter table by VID:PID, case-insensitively', () => {
    expect(recogniseAdapter('10C4', 'EA60')).toBe('CP210x');
    expect(recogniseAdapter('0403', '6015')).toBe('FTDI');
    expect(recogniseAdapter('067b', '23a3')).toBe('PL2303');
    expect(recogniseAdapter('16d0', '117e')).toBe('CANable (SLCAN)');
    expect(recogniseAdapter('1a86', '5523')).toBe('CH340');
    expect(recogniseAdapter('dead', 'beef')).toBeUndefined();
    expect(recogniseAdapter(undefined, undefined)).toBeUndefined();
  });
});
