import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPackageFile } from '../../../electron/host/evidence/package-file.js';
import { extractPackage } from '../../../electron/host/evidence/extract.js';
import { FileKeyStore } from '../../../electron/host/evidence/keystore.js';
import { InstallKeyStore } from '../../../electron/host/evidence/install-keys.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { INSTALL_IDENTITY, verifyCommands } from '../../../shared/evidence/package.js';
import { SSHSIG_NAMESPACE } from '../../../shared/codec/sshsig.js';
import { openZip, readZipFiles } from '../../../shared/codec/zip.js';
import { CLAIM, stream } from '../../unit/warranty/stream.js';
import { makeDeviceLog, values } from '../../unit/evidence/device-log.js';
import { cli } from '../../unit/evidence/cli-harness.js';
import { overlappingZip, rawZip } from '../../unit/evidence/malicious.js';
import { zipSync } from 'fflate';

function requireTool(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error)
    throw new Error(
      `${cmd} is required for this test but is not installed (${r.error.message}); apt-get install ${cmd === 'ssh-keygen' ? 'openssh-client' : cmd === 'sha256sum' ? 'coreutils' : cmd}`,
    );
}

const dir = mkdtempSync(join(tmpdir(), 'packscope-stock-'));
const log = makeDeviceLog(
  values(
    stream(300, (r, i) => {
      if (i > 100 && i < 130) r.current = -250;
    }),
  ),
);

async function makePackage(name: string) {
  const out = join(dir, name);
  const created = await createPackageFile({
    parts: log,
    claim: CLAIM,
    policy: DEFAULT_POLICY,
    out,
    keyStore: new FileKeyStore(join(dir, 'config')),
    createdAt: new Date('2026-06-03T10:00:00Z'),
    photos: [{ name: 'pack.png', data: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 0]) }],
  });
  return { out, created };
}

describe('stock tools verify a package', () => {
  it('sha256sum, openssl pkeyutl -rawin and ssh-keygen -Y verify accept it, with the commands exactly as VERIFY.txt prints them', async () => {
    requireTool('sha256sum', ['--version']);
    requireTool('openssl', ['version']);
    requireTool('ssh-keygen', ['-?']);
    const { out, created } = await makePackage('claim.psdiag');
    expect(created.evaluation.verdict).toBe('excluded');
    const x = join(dir, 'x');
    extractPackage(new Uint8Array(readFileSync(out)), x);
    // unzip (Info-ZIP) reads it too, and sees only regular files.
    const listing = execFileSync('unzip', ['-Z', '-l', out], { encoding: 'utf8' });
    expect(listing).not.toMatch(/^l/m);
    const verifyTxt = readFileSync(join(x, 'VERIFY.txt'), 'utf8');
    const commands = verifyTxt
      .split('\n')
      .filter((l) => l.startsWith('$ '))
      .map((l) => l.slice(2));
    expect(commands).toEqual(verifyCommands());
    const outputs = commands.map((c) => {
      const r = spawnSync('sh', ['-c', c], { cwd: x, encoding: 'utf8' });
      expect(r.status, `${c}\n${r.stdout}${r.stderr}`).toBe(0);
      return r.stdout + r.stderr;
    });
    expect(outputs[0]).toMatch(/^manifest.json: OK$/m);
    expect(outputs[0]).not.toMatch(/FAILED/);
    expect(outputs[1]).toMatch(/Signature Verified Successfully/);
    expect(outputs[2]).toMatch(/Good "packscope-diagnosis" signature for packscope-install with ED25519 key SHA256:/);
    expect(outputs[2]).toContain(created.manifest.installKey.fingerprint);

    // The same commands fail on a tampered copy.
    writeFileSync(
      join(x, 'SHA256SUMS'),
      readFileSync(join(x, 'SHA256SUMS'), 'utf8').replace(/^./, (c) => (c === '0' ? '1' : '0')),
    );
    for (const c of commands) expect(spawnSync('sh', ['-c', c], { cwd: x }).status, c).not.toBe(0);
  });

  it('packscope package verify: one verdict line first, then details; exit 6 when tampered', async () => {
    const { out } = await makePackage('cli.psdiag');
    const rootPath = join(dir, 'root.pem');
    writeFileSync(rootPath, log.ca.pem);
    const ok = await cli('package', 'verify', out, '--root', rootPath);
    expect(ok.code).toBe(0);
    const lines = ok.out.split('\n');
    expect(lines[0]).toMatch(/^VERIFIED: EXCLUDED by clause over-discharge-current/);
    expect(lines.slice(1).join('\n')).toMatch(/ok {3}device-certificate: PS-LFP-100 SN-0001 certified by the given root/);
    const j = JSON.parse((await cli('package', 'verify', out, '--root', rootPath, '--json')).out);
    expect(j).toMatchObject({ ok: true, verdict: 'excluded' });

    const bytes = new Uint8Array(readFileSync(out));
    const csv = openZip(bytes).entries.find((e) => e.name === 'data/records.csv')!;
    bytes[csv.dataOffset + Math.floor(csv.compressedSize / 2)] ^= 0x40;
    const bad = join(dir, 'bad.psdiag');
    writeFileSync(bad, bytes);
    const r = await cli('package', 'verify', bad, '--root', rootPath);
    expect(r.code).toBe(6);
    expect(r.out.split('\n')[0]).toMatch(/^FAILED: /);
    expect((await cli('package', 'verify', bad)).code).toBe(2);
    expect((await cli('package', 'verify', join(dir, 'absent.psdiag'), '--root', rootPath)).code).toBe(3);
  });
});

describe('stock tools and PackScope read each other', () => {
  it('ssh-keygen -Y verify reads the known installation keys list: a package signed by a known key verifies', async () => {
    requireTool('ssh-keygen', ['-?']);
    const { out } = await makePackage('known-key.psdiag');
    const store = new InstallKeyStore(join(dir, 'ssh-test', 'known-install-keys'));
    store.add((await new FileKeyStore(join(dir, 'config')).load()).publicKey, 'Erika Mustermann');
    const zip = openZip(new Uint8Array(readFileSync(out)));
    const get = (n: string) => zip.read(zip.entries.find((e) => e.name === n)!);
    const sig = join(dir, 'ssh-test', 'SHA256SUMS.sshsig');
    writeFileSync(sig, get('SHA256SUMS.sshsig'));
    const verified = execFileSync('ssh-keygen', ['-Y', 'verify', '-f', store.path, '-I', INSTALL_IDENTITY, '-n', SSHSIG_NAMESPACE, '-s', sig], {
      input: get('SHA256SUMS'),
    }).toString();
    expect(verified).toContain(`Good "${SSHSIG_NAMESPACE}" signature for ${INSTALL_IDENTITY}`);
  });

  it('packscope claim ticket takes a key made by openssl genpkey -algorithm ed25519', async () => {
    requireTool('openssl', ['version']);
    const key = join(dir, 'ossl.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
    execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-out', join(dir, 'ossl.pub.pem')]);
    const r = await cli('claim', 'ticket', '--key', key, '--serial', 'PS24-1', '--out', join(dir, 'ossl.psticket'));
    expect(r.code, r.err).toBe(0);
    expect((await cli('claim', 'show', join(dir, 'ossl.psticket'), '--key-pub', join(dir, 'ossl.pub.pem'))).code).toBe(0);
  });

  // Info-ZIP's zip is what a supplier or customer may repack with; CI installs it (.ci/run), and a
  // missing zip fails this case rather than skipping it.
  it('PackScope opens what Info-ZIP writes to a pipe (data descriptors)', () => {
    requireTool('zip', ['-v']);
    const sub = mkdtempSync(join(dir, 'infozip-'));
    const text = 'hello from a pipe\n'.repeat(20);
    writeFileSync(join(sub, 'hello.txt'), text);
    // Written to a pipe, zip cannot seek back to fill in sizes: it sets bit 3 and appends descriptors.
    const zipped = new Uint8Array(execFileSync('zip', ['-q', '-', 'hello.txt'], { cwd: sub, maxBuffer: 1 << 20 }));
    expect(zipped[6]! & 8).toBe(8);
    expect(readZipFiles(zipped).get('hello.txt')).toEqual(new TextEncoder().encode(text));
  });
});

describe('malicious archives', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    [
      'path traversal',
      rawZip([
        { name: 'a.txt', data: new Uint8Array([1]) },
        { name: '../../escape.txt', data: new Uint8Array([1]) },
      ]),
      /parent-directory/,
    ],
    ['absolute path', rawZip([{ name: '/tmp/packscope-escape.txt', data: new Uint8Array([1]) }]), /absolute path/],
    [
      'symlink',
      zipSync({ link: [new TextEncoder().encode('/etc/passwd'), { os: 3, attrs: (0o120777 << 16) >>> 0 }], 'link/x': new Uint8Array([1]) }),
      /symbolic link/,
    ],
    ['zip bomb', zipSync({ 'zeros.bin': new Uint8Array(64 << 20) }), /zip bomb/],
    ['overlapping bomb', overlappingZip(), /overlap/],
    [
      'duplicate entries',
      rawZip([
        { name: 'SHA256SUMS', data: new Uint8Array([1]) },
        { name: 'SHA256SUMS', data: new Uint8Array([2]) },
      ]),
      /duplicate entry/,
    ],
  ];
  it.each(cases)('%s: refused with a clear error, nothing written anywhere', async (_name, zip, re) => {
    const base = mkdtempSync(join(tmpdir(), 'packscope-mal-'));
    const file = join(base, 'evil.psdiag');
    writeFileSync(file, zip);
    const target = join(base, 'out', 'target');
    const r = await cli('package', 'extract', file, '--to', target);
    expect(r.code).toBe(7);
    expect(r.err).toMatch(re);
    expect(readdirSync(base)).toEqual(['evil.psdiag']);
    expect(existsSync('/tmp/packscope-escape.txt')).toBe(false);
    const root = join(base, 'root.pem');
    writeFileSync(root, log.ca.pem);
    const v = await cli('package', 'verify', file, '--root', root);
    expect(v.code).toBe(6);
    expect(v.out.split('\n')[0]).toMatch(re);
  });
});
