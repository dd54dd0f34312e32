import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBuilderConfig, ROOT, validateBuilderConfig } from './builder-config.js';

type Cfg = Record<string, any>;

describe('electron-builder.yml', () => {
  it("passes electron-builder's own schema validation", async () => {
    const config = await loadBuilderConfig();
    await expect(validateBuilderConfig(config)).resolves.toBeUndefined();
  });

  it('the validator is real: a misspelt option or a wrong type is refused', async () => {
    const config = (await loadBuilderConfig()) as Cfg;
    await expect(validateBuilderConfig({ ...config, nsis: { ...config.nsis, perMachin: false } })).rejects.toThrow(/configuration\.nsis/);
    await expect(validateBuilderConfig({ ...config, electronFuses: { ...config.electronFuses, runAsNode: 'no' } })).rejects.toThrow();
  });

  it('builds AppImage + deb, per-user NSIS with a directory choice, a hardened dmg', async () => {
    const c = (await loadBuilderConfig()) as Cfg;
    expect(c.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(c.win.target).toContain('nsis');
    expect(c.nsis).toMatchObject({ oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true });
    expect(c.mac.target).toContain('dmg');
    expect(c.mac.hardenedRuntime).toBe(true);
    const ent = readFileSync(path.join(ROOT, c.mac.entitlements), 'utf8');
    expect(ent).toContain('com.apple.security.device.serial');
    expect(ent).not.toContain('disable-library-validation');
    expect(ent).not.toContain('allow-unsigned-executable-memory');
  });

  it('unpacks native modules from the asar and ships only the built app', async () => {
    const c = (await loadBuilderConfig()) as Cfg;
    expect(c.asar).toBe(true);
    expect(c.asarUnpack).toContain('**/*.node');
    expect(c.extraMetadata.main).toBe('dist/electron/main/main.js');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.main).toBe(c.extraMetadata.main);
  });

  it('associates .psdiag and .pslog with the app', async () => {
    const c = (await loadBuilderConfig()) as Cfg;
    expect(c.fileAssociations.map((a: Cfg) => a.ext).sort()).toEqual(['psdiag', 'pslog']);
  });

  it("the deb's post-install installs the udev rule shipped as a resource", async () => {
    const c = (await loadBuilderConfig()) as Cfg;
    const script = readFileSync(path.join(ROOT, c.deb.afterInstall), 'utf8');
    const res = c.linux.extraResources.find((r: Cfg) => r.to === 'udev/99-packscope.rules');
    expect(res).toBeTruthy();
    expect(existsSync(path.join(ROOT, res.from))).toBe(true);
    expect(script).toContain("install -m 0644 '/opt/${sanitizedProductName}/resources/udev/99-packscope.rules' /etc/udev/rules.d/99-packscope.rules");
    expect(script).toContain('udevadm control --reload-rules');
    expect(readFileSync(path.join(ROOT, c.deb.afterRemove), 'utf8')).toContain('rm -f /etc/udev/rules.d/99-packscope.rules');
  });
});

describe('udev rule', () => {
  const lines = readFileSync(path.join(ROOT, 'packaging/linux/99-packscope.rules'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));

  it('gives every recognised adapter to dialout and the seat user, and keeps ModemManager away', () => {
    expect(lines.length).toBeGreaterThanOrEqual(10);
    for (const l of lines) {
      expect(l).toMatch(/^SUBSYSTEM=="tty", ATTRS\{idVendor\}=="[0-9a-f]{4}", ATTRS\{idProduct\}=="[0-9a-f]{4}", /);
      expect(l).toContain('GROUP="dialout"');
      expect(l).toContain('MODE="0660"');
      expect(l).toContain('TAG+="uaccess"');
      expect(l).toContain('ENV{ID_MM_DEVICE_IGNORE}="1"');
    }
  });

  it('covers CH340, CP210x, FTDI, PL2303 and CANable', () => {
    const ids = lines.map((l) => /idVendor\}=="(\w+)", ATTRS\{idProduct\}=="(\w+)"/.exec(l)!.slice(1).join(':'));
    for (const id of ['1a86:7523', '10c4:ea60', '0403:6001', '067b:2303', 'ad50:60c4']) expect(ids).toContain(id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
