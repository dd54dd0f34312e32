import { describe, expect, it } from 'vitest';
import { main } from '../../../electron/host/cli/main.js';

/**
 * Every command made of subcommands answers alike through one dispatcher: no subcommand prints the
 * usage (exit 2), an unknown one is a usage error naming the known ones (exit 2), --help exits 0.
 */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal, isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const COMMANDS: Record<string, string[]> = {
  can: ['monitor', 'pylontech'],
  claim: ['keygen', 'ticket', 'show'],
  image: ['sign', 'inspect', 'keygen'],
  log: ['pull', 'verify', 'export', 'info'],
  package: ['create', 'verify', 'extract'],
};

describe.each(Object.entries(COMMANDS))('packscope %s', (command, known) => {
  it('without a subcommand prints its usage and exits 2', async () => {
    const r = await cli(command);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/usage/i);
  });

  it('names the known subcommands when given an unknown one, exit 2', async () => {
    const r = await cli(command, 'frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`unknown ${command} subcommand 'frobnicate'`);
    for (const sub of known) expect(r.err).toContain(sub);
  });

  it('does not take an inherited property name for a subcommand', async () => {
    const r = await cli(command, 'constructor');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`unknown ${command} subcommand 'constructor'`);
  });

  it('answers --help with exit 0', async () => {
    const r = await cli(command, '--help');
    expect(r.code).toBe(0);
    expect(r.out.length).toBeGreaterThan(0);
  });
});
