/**
 * Where desk verification runs: in this process, or fanned out to worker processes, one per core.
 * A worker is `packscope desk worker` (the same command in the sources, the CLI bundle or an
 * installed package) talking over Node's IPC channel: it gets the supplier's trust once, then
 * package paths, and answers each with the plain-data result of verifyForDesk. Workers hold no
 * state beyond the trust and touch no database, so any job runner can run the same step elsewhere.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PackscopeError, type ErrorCode } from '../../../shared/errors.js';
import { MAX_PACKAGE_BYTES } from '../evidence/package-file.js';
import { readInput } from '../evidence/files.js';
import { packageRoot } from '../util/package-root.js';
import type { DeskTrust } from './supplier.js';
import { verifyForDesk, type VerifiedPackage } from './verify-one.js';

export interface VerifyPool {
  readonly size: number;
  verify(path: string): Promise<VerifiedPackage>;
  close(): Promise<void>;
}

type ToWorker = { type: 'init'; trust: DeskTrust; recordsDir: string } | { type: 'job'; id: number; path: string };
type FromWorker = { type: 'ready' } | { type: 'done'; id: number; result: VerifiedPackage } | { type: 'error'; id: number; code: ErrorCode; message: string };

async function verifyPath(path: string, trust: DeskTrust, recordsDir: string): Promise<VerifiedPackage> {
  return verifyForDesk(readInput(path, 'package', MAX_PACKAGE_BYTES), trust, recordsDir);
}

export function inProcessPool(trust: DeskTrust, recordsDir: string): VerifyPool {
  return { size: 1, verify: (path) => verifyPath(path, trust, recordsDir), close: async () => {} };
}

interface Worker {
  child: ChildProcess;
  busy: boolean;
  ready: Promise<void>;
}

/** `n` worker processes; jobs go to whichever is free. */
export function processPool(n: number, trust: DeskTrust, recordsDir: string): VerifyPool {
  const bin = join(packageRoot(), 'bin', 'packscope.mjs');
  const pending = new Map<number, { resolve: (r: VerifiedPackage) => void; reject: (e: Error) => void; worker: Worker }>();
  const waiting: Array<() => void> = [];
  let nextId = 1;
  let closed = false;
  const workers: Worker[] = [];
  for (let i = 0; i < n; i++) {
    const child = fork(bin, ['desk', 'worker'], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    const w: Worker = { child, busy: false, ready: new Promise<void>((res, rej) => ((onReady = res), (onFail = rej))) };
    w.ready.catch(() => {});
    child.on('message', (m: FromWorker) => {
      if (m.type === 'ready') return onReady();
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      w.busy = false;
      waiting.shift()?.();
      if (m.type === 'done') p.resolve(m.result);
      else p.reject(new PackscopeError(m.code, m.message));
    });
    child.on('exit', (code, sig) => {
      const e = new PackscopeError('INTERNAL', `verification worker ${child.pid} stopped (${sig ?? `exit ${code}`})`);
      onFail(e);
      for (const [id, p] of pending) {
        if (p.worker !== w) continue;
        pending.delete(id);
        p.reject(e);
      }
      if (!closed) workers.splice(workers.indexOf(w), 1);
    });
    child.send({ type: 'init', trust, recordsDir } satisfies ToWorker);
    workers.push(w);
  }
  const free = async (): Promise<Worker> => {
    for (;;) {
      if (!workers.length) throw new PackscopeError('INTERNAL', 'no verification worker is running');
      const w = workers.find((x) => !x.busy);
      if (w) return w;
      await new Promise<void>((r) => waiting.push(r));
    }
  };
  return {
    size: n,
    async verify(path) {
      const w = await free();
      w.busy = true;
      await w.ready;
      const id = nextId++;
      return new Promise<VerifiedPackage>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker: w });
        w.child.send({ type: 'job', id, path } satisfies ToWorker);
      });
    },
    async close() {
      closed = true;
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
              w.child.once('exit', () => resolve());
              w.child.disconnect();
            }),
        ),
      );
    },
  };
}

/** The worker's side: answers jobs until the parent disconnects. */
export function runVerifyWorker(): Promise<number> {
  const send = process.send?.bind(process);
  if (!send) throw new PackscopeError('USAGE', 'desk worker runs only as a child of desk ingest (it talks over the IPC channel)');
  let trust: DeskTrust | null = null;
  let recordsDir = '';
  return new Promise((resolve) => {
    process.on('disconnect', () => resolve(0));
    process.on('message', (m: ToWorker) => {
      if (m.type === 'init') {
        trust = m.trust;
        recordsDir = m.recordsDir;
        send({ type: 'ready' } satisfies FromWorker);
        return;
      }
      const t = trust;
      if (!t) return;
      verifyPath(m.path, t, recordsDir).then(
        (result) => send({ type: 'done', id: m.id, result } satisfies FromWorker),
        (e: unknown) =>
          send({
            type: 'error',
            id: m.id,
            code: e instanceof PackscopeError ? e.code : 'INTERNAL',
            message: (e as Error).message,
          } satisfies FromWorker),
      );
    });
  });
}
