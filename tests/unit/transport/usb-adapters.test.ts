import { mkdtempSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapterIdentities, resolveAdapter, withPhysicalPaths, type PortFacts } from '../../../electron/host/transport/usb-adapters.js';
import { PackscopeError } from '../../../shared/errors.js';

const ch340 = { kind: 'serial' as const, vendorId: '1a86', productId: '7523', manufacturer: 'wch.cn' };

describe('two adapters with the same VID:PID', () => {
  it('are told apart by USB serial number when they have distinct ones', () => {
    const ports: PortFacts[] = [
      { kind: 'serial', path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'ea60', serialNumber: 'A1' },
      { kind: 'serial', path: '/dev/ttyUSB1', vendorId: '10c4', productId: 'EA60', serialNumber: 'B2' },
    ];
    const ids = adapterIdentities(ports);
    expect(ids.map((i) => i.key)).toEqual(['usb:10c4:ea60:sn:A1', 'usb:10c4:ea60:sn:B2']);
    expect(ids.every((i) => i.sharesVidPid && !i.ambiguous)).toBe(true);
    // Re-plugged in the other order: the keys follow the adapters, not the tty names.
    const swapped = ports.map((p, i) => ({ ...p, path: `/dev/ttyUSB${1 - i}` }));
    expect(resolveAdapter('usb:10c4:ea60:sn:A1', swapped)).toBe('/dev/ttyUSB1');
  });

  it('fall back to the physical path when the serial number is missing or cloned (CH340)', () => {
    const ports: PortFacts[] = [
      { ...ch340, path: '/dev/ttyUSB0', serialNumber: '0001', physicalPath: 'pci-0000:00:14.0-usb-0:2:1.0-port0' },
      { ...ch340, path: '/dev/ttyUSB1', serialNumber: '0001', physicalPath: 'pci-0000:00:14.0-usb-0:3:1.0-port0' },
    ];
    const ids = adapterIdentities(ports);
    expect(ids.map((i) => i.basis)).toEqual(['physical-path', 'physical-path']);
    expect(new Set(ids.map((i) => i.key)).size).toBe(2);
    expect(resolveAdapter(ids[1]!.key, ports)).toBe('/dev/ttyUSB1');
  });

  it('are flagged ambiguous when nothing stable tells them apart', () => {
    const ids = adapterIdentities([
      { ...ch340, path: '/dev/ttyUSB0' },
      { ...ch340, path: '/dev/ttyUSB1' },
      { kind: 'serial', path: '/dev/ttyS0' },
    ]);
    expect(ids.map((i) => i.ambiguous)).toEqual([true, true, false]);
    expect(ids[2]!.key).toBe('path:/dev/ttyS0');
  });

  it('a key whose adapter is unplugged is a NOT_FOUND error', () => {
    let err: unknown;
    try {
      resolveAdapter('usb:1a86:7523:sn:XYZ', []);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PackscopeError);
    expect((err as PackscopeError).code).toBe('NOT_FOUND');
  });

  it('reads the physical path from by-path links', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ps-bypath-'));
    const dev = join(root, 'dev');
    const byPath = join(root, 'by-path');
    mkdirSync(dev);
    mkdirSync(byPath);
    writeFileSync(join(dev, 'ttyUSB0'), '');
    writeFileSync(join(dev, 'ttyUSB1'), '');
    symlinkSync(join(dev, 'ttyUSB0'), join(byPath, 'pci-0000:00:14.0-usb-0:2:1.0-port0'));
    symlinkSync(join(dev, 'ttyUSB1'), join(byPath, 'pci-0000:00:14.0-usb-0:3:1.0-port0'));
    const facts = await withPhysicalPaths(
      [
        { ...ch340, path: join(dev, 'ttyUSB0') },
        { ...ch340, path: join(dev, 'ttyUSB1') },
      ],
      byPath,
    );
    expect(facts.map((f) => f.physicalPath)).toEqual(['pci-0000:00:14.0-usb-0:2:1.0-port0', 'pci-0000:00:14.0-usb-0:3:1.0-port0']);
    expect(adapterIdentities(facts).every((i) => i.basis === 'physical-path')).toBe(true);
  });

  it('falls back to the USB interface in sysfs when udev has no by-path links', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ps-sysfs-'));
    for (const [tty, iface] of [
      ['ttyUSB0', '1-2:1.0'],
      ['ttyUSB1', '1-3.1:1.0'],
    ] as const) {
      const devDir = join(root, 'devices/pci0000:00/usb1', iface);
      mkdirSync(devDir, { recursive: true });
      mkdirSync(join(root, 'class/tty', tty), { recursive: true });
      symlinkSync(devDir, join(root, 'class/tty', tty, 'device'));
    }
    const facts = await withPhysicalPaths(
      [
        { ...ch340, path: '/dev/ttyUSB0' },
        { ...ch340, path: '/dev/ttyUSB1' },
      ],
      join(root, 'no-by-path'),
      root,
    );
    expect(facts.map((f) => f.physicalPath)).toEqual(['usb-1-2:1.0', 'usb-1-3.1:1.0']);
    expect(adapterIdentities(facts).map((i) => i.key)).toEqual(['usb:1a86:7523:at:usb-1-2:1.0', 'usb:1a86:7523:at:usb-1-3.1:1.0']);
  });
});
