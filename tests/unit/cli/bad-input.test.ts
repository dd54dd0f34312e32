import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../electron/host/cli/main.js';

/**
 * Input as a careless user gives it: the wrong kind of path for a port, a directory where a file
 * belongs, an empty or misnamed firmware file, a binary claim form, a tampered image. Each gets a
 * message naming the path and the cause, and the exit code of the README's table.
 */
const FIX = path.resolve(import.meta.dirname, '../../fixtures/mcuboot');
const dir = mkdtempSync(path.join(tmpdir(), 'ps-badinput-'));
const p = (f: string) => path.join(dir, f);

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal, isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  mkdirSync(p('a-dir'));
  writeFileSync(p('regular.txt'), 'not a tty\n');
  writeFileSync(p('empty.bin'), '');
  writeFileSync(p('app.bin'), new Uint8Array(4096).fill(0x5a));
  // Binary bytes, including NUL, escape sequences and invalid UTF-8.
  writeFileSync(
    p('photo.json'),
    Uint8Array.from({ length: 512 }, (_, i) => (i * 131 + 7) & 0xff),
  );
  writeFileSync(
    p('app.hex'),
    Uint8Array.from({ length: 512 }, (_, i) => (i * 37 + 1) & 0xff),
  );
  writeFileSync(p('broken.hex'), ':020000040000FA\n:10000000this is no record\n:00000001FF\n');
  const key = await cli('image', 'keygen', '--type', 'ed25519', '--out', p('key.pem'));
  expect(key.code, key.err).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a port that is not a serial device', () => {
  for (const [label, port, cause] of [
    ['/dev/null', '/dev/null', /not a terminal/],
    ['a regular file', 'regular.txt', /regular file/],
    ['a directory', 'a-dir', /directory/],
  ] as const) {
    it(`${label}: "<path> is not a serial port", exit 3, before anything is opened`, async () => {
      const named = port.startsWith('/') ? port : p(port);
      const r = await cli('info', '--port', named, '--protocol', 'native');
      expect(r.code).toBe(3);
      expect(r.err).toContain(`${named} is not a serial port`);
      expect(r.err).toMatch(cause);
      expect(r.err).not.toMatch(/ioctl|baud/);
    });
  }
});

describe('a directory where an input file belongs: exit 3, "<path> is a directory"', () => {
  const d = p('a-dir');
  const cases: Array<[string, string[], string]> = [
    ['log verify', ['log', 'verify', d], `${d} is a directory, not a .pslog file`],
    ['log info', ['log', 'info', d], `${d} is a directory, not a .pslog file`],
    ['log export', ['log', 'export', d, '--csv', p('out.csv')], `${d} is a directory, not a .pslog file`],
    ['log export --root', ['log', 'export', p('missing.pslog'), '--csv', p('out.csv'), '--root', d], `${d} is a directory, not a root key file`],
    ['package verify', ['package', 'verify', d, '--root', p('key.pub.pem')], `${d} is a directory, not a file`],
    ['package create --claim', ['package', 'create', '--log', p('missing.pslog'), '--claim', d, '--out', p('c.psdiag')], `${d} is a directory, not a file`],
    ['policy check', ['policy', 'check', d], `${d} is a directory, not a policy file`],
    ['image inspect', ['image', 'inspect', d], `${d} is a directory, not a file`],
    ['image sign', ['image', 'sign', '--key', p('key.pem'), '--version', '1.0.0', '--board', 'B', d, p('out.img')], `${d} is a directory, not a file`],
  ];
  for (const [label, args, message] of cases) {
    it(label, async () => {
      const r = await cli(...args);
      expect(r.code, r.err).toBe(3);
      expect(r.err).toContain(message);
      expect(r.err).not.toMatch(/EISDIR/);
    });
  }
});

describe('image sign refuses what is not an application', () => {
  const sign = (input: string) => cli('image', 'sign', '--key', p('key.pem'), '--version', '1.0.0', '--board', 'PSB-TEST', p(input), p(`${input}.img`));

  it('an empty input: exit 8, "empty image"', async () => {
    const r = await sign('empty.bin');
    expect(r.code).toBe(8);
    expect(r.err).toMatch(/empty image: .*empty\.bin has no bytes to sign/);
  });

  it('a .hex file that is not Intel HEX is not signed as raw bytes: exit 8, naming the first bad line', async () => {
    const r = await sign('app.hex');
    expect(r.code).toBe(8);
    expect(r.err).toMatch(/app\.hex is not Intel HEX \(line 1: /);
    const broken = await sign('broken.hex');
    expect(broken.code).toBe(8);
    expect(broken.err).toMatch(/broken\.hex is not valid Intel HEX \(line 2: not a record\)/);
  });

  it('a raw .bin still signs', async () => {
    const r = await sign('app.bin');
    expect(r.code, r.err).toBe(0);
  });
});

describe('package create --claim with a binary file', () => {
  it('says "<file> is not a JSON claim form" with exit 8, and echoes none of its bytes', async () => {
    const r = await cli('package', 'create', '--log', p('missing.pslog'), '--claim', p('photo.json'), '--out', p('c.psdiag'));
    expect(r.code).toBe(8);
    expect(r.err).toContain(`${p('photo.json')} is not a JSON claim form`);
    expect(r.err + r.out).toMatch(/^[\x20-\x7e\n]*$/);
  });

  it('text that is not JSON: exit 8 too', async () => {
    writeFileSync(p('notes.json'), 'customer: A. Rider\n');
    const r = await cli('package', 'create', '--log', p('missing.pslog'), '--claim', p('notes.json'), '--out', p('c.psdiag'));
    expect(r.code).toBe(8);
    expect(r.err).toMatch(/notes\.json is not a JSON claim form \(not valid JSON/);
    expect(r.err).not.toContain('A. Rider');
  });
});

describe('image inspect of an image changed after signing', () => {
  const img = path.join(FIX, 'neg-hash-mismatch-ed25519.bin');

  it('never calls the signature valid when the hash does not match; exit 6', async () => {
    for (const trust of [['--trust', path.join(FIX, 'ed25519.pub.pem')], []]) {
      const r = await cli('image', 'inspect', img, ...trust);
      expect(r.code).toBe(6);
      const sig = r.out.split('\n').find((l) => /^\s+signature\s/.test(l))!;
      expect(sig).toMatch(/not checked: the image hash does not match/);
      expect(sig).not.toMatch(/\bvalid\b/);
      expect(r.out).toMatch(/DOES NOT match its SHA256 TLV/);
    }
    const j = await cli('image', 'inspect', img, '--trust', path.join(FIX, 'ed25519.pub.pem'), '--json');
    expect(j.code).toBe(6);
    expect(JSON.parse(j.out)).toMatchObject({ valid: false, hash: { status: 'mismatch' }, signature: { status: 'not_checked', trustedKey: null } });
  });
});
