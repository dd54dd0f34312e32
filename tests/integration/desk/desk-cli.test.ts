import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractPackage } from '../../../electron/host/evidence/extract.js';
import { decisionCommands } from '../../../shared/desk/decision.js';
import { makeDeskInbox, verifyOneArgs, type DeskFixture } from '../../support/desk-packages.js';
import { runCli } from '../cli-process.js';

/**
 * `packscope desk` as a supplier runs it: ingest fans verification out to worker processes, flags
 * forgeries, stores duplicates once and gives the verdicts a one-by-one `package verify` gives;
 * a decision file verifies with openssl and ssh-keygen exactly as its VERIFY.txt says.
 */
const dir = mkdtempSync(join(tmpdir(), 'packscope-desk-cli-'));
let fx: DeskFixture;
const db = () => join(dir, 'claims.duckdb');

beforeAll(async () => {
  fx = await makeDeskInbox(dir, { count: 16, minutes: 20, forgeEvery: 5, duplicateEvery: 7 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function json<T>(r: { code: number | null; stdout: string; stderr: string }): T {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('packscope desk', () => {
  it('ingests in parallel worker processes with verdicts identical to a one-by-one package verify', async () => {
    const r = await runCli(['desk', 'ingest', join(dir, 'inbox'), '--supplier', fx.supplier, '--db', db(), '--jobs', '2', '--json']);
    const sum = json<{
      files: number;
      stored: number;
      duplicates: number;
      workers: number;
      items: { file: string; outcome: string; ok: boolean | null; verdict: string | null; line: string }[];
    }>(r);
    expect(sum).toMatchObject({ files: 16, duplicates: 2, stored: 14, workers: 2 });
    expect(r.stderr).toMatch(/16\/16 packages/);
    for (const p of fx.packages) {
      const item = sum.items.find((i) => i.file === p.path)!;
      if (p.duplicateOf) {
        expect(item.outcome).toBe('duplicate');
        continue;
      }
      const one = await runCli(verifyOneArgs(fx, p));
      const v = JSON.parse(one.stdout) as { ok: boolean; line: string; verdict: string | null };
      expect(item.ok, p.path).toBe(v.ok);
      // A failure names its first failed check; with several roots the one named may differ.
      if (v.ok) expect(item.line).toBe(v.line);
      else expect(item.line.split(':').slice(0, 3)).toEqual(v.line.split(':').slice(0, 3));
      expect(item.verdict).toBe(v.ok ? v.verdict : null);
      if (p.forged) expect(item.ok === false || item.verdict !== 'covered', item.line).toBe(true);
    }
    const again = json<{ stored: number; duplicates: number }>(
      await runCli(['desk', 'ingest', join(dir, 'inbox'), '--supplier', fx.supplier, '--db', db(), '--jobs', '2', '--json']),
    );
    expect(again).toEqual(expect.objectContaining({ stored: 0, duplicates: 16 }));
    const n = json<{ n: number }[]>(await runCli(['desk', 'sql', 'SELECT count(*) AS n FROM packages', '--db', db(), '--json']));
    expect(n).toEqual([{ n: 14 }]);
  });

  it('writes a decision file that openssl and ssh-keygen verify exactly as its VERIFY.txt says', async () => {
    const q = json<{ claimId: string; verdict: string; packageSha256: string }[]>(
      await runCli(['desk', 'list', '--supplier', fx.supplier, '--db', db(), '--verdict', 'excluded', '--json']),
    );
    const claim = q[0]!;
    const shown = json<{ findings: { clause: string; type: string }[] }>(
      await runCli(['desk', 'show', claim.claimId, '--supplier', fx.supplier, '--db', db(), '--json']),
    );
    const clause = shown.findings.find((f) => f.type === 'void')!.clause;
    const d = json<{ path: string; decision: { supplier: { keyFingerprint: string } } }>(
      await runCli([
        'desk',
        'decide',
        claim.claimId,
        '--decision',
        'denied',
        '--clause',
        clause,
        '--note',
        'Abuse in the log.',
        '--supplier',
        fx.supplier,
        '--db',
        db(),
        '--json',
      ]),
    );
    const x = join(dir, 'decision');
    extractPackage(new Uint8Array(readFileSync(d.path)), x);
    const verifyTxt = readFileSync(join(x, 'VERIFY.txt'), 'utf8');
    const commands = verifyTxt
      .split('\n')
      .filter((l) => l.startsWith('$ '))
      .map((l) => l.slice(2));
    expect(commands).toEqual(decisionCommands());
    const outputs = commands.map((c) => {
      const r = spawnSync('sh', ['-c', c], { cwd: x, encoding: 'utf8' });
      expect(r.status, `${c}\n${r.stdout}${r.stderr}`).toBe(0);
      return r.stdout + r.stderr;
    });
    expect(outputs[0]).toContain(d.decision.supplier.keyFingerprint);
    expect(outputs[1]).toMatch(/Signature Verified Successfully/);
    expect(outputs[2]).toMatch(/Good "packscope-decision" signature for packscope-supplier with ED25519 key SHA256:/);
    expect(verifyTxt).toContain(claim.packageSha256);
    // The package it names is the one the customer sent.
    const sent = fx.packages.find((p) => !p.duplicateOf && spawnSync('sha256sum', [p.path], { encoding: 'utf8' }).stdout.startsWith(claim.packageSha256));
    expect(sent).toBeDefined();

    // A changed decision fails both stock tools.
    writeFileSync(join(x, 'decision.json'), readFileSync(join(x, 'decision.json'), 'utf8').replace('"denied"', '"covered"'));
    for (const c of commands.slice(1)) expect(spawnSync('sh', ['-c', c], { cwd: x }).status, c).not.toBe(0);

    const hist = json<{ history: { status: string }[]; decisions: { kind: string }[] }>(
      await runCli(['desk', 'show', claim.claimId, '--supplier', fx.supplier, '--db', db(), '--json']),
    );
    expect(hist.decisions.map((x) => x.kind)).toEqual(['denied']);
    expect(hist.history.map((h) => h.status)).toEqual(['new', 'denied']);
  });

  it('refuses bad input with the documented exit codes', async () => {
    expect((await runCli(['desk', 'ingest', join(dir, 'absent'), '--supplier', fx.supplier, '--db', db()])).code).toBe(3);
    expect((await runCli(['desk', 'list', '--db', db()])).code).toBe(2);
    expect((await runCli(['desk', 'decide', 'C-00000', '--decision', 'maybe', '--supplier', fx.supplier, '--db', db()])).code).toBe(2);
    expect((await runCli(['desk', 'show', 'C-nope', '--supplier', fx.supplier, '--db', db()])).code).toBe(3);
    expect((await runCli(['desk', 'sql', 'DELETE FROM packages', '--db', db()])).code).toBe(2);
  });
});
