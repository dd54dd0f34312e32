import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CMD, ERR, MSG } from '../../../shared/protocol/constants.js';
import { decodeFrame, type DamagedHead, type Frame } from '../../../shared/protocol/frame.js';
import {
  BULK_FLAG,
  BULK_NAK,
  BULK_OPEN,
  DEVICE_KEY,
  ERROR,
  IDENTITY,
  PARAM_VALUE,
  REGION_HASH,
  REGION_LIST,
  REGION_RANGE,
  encodeBulkData,
} from '../../../shared/protocol/messages.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { createBoard } from '../../../firmware/sim/board.js';
import { NativeError, type NativeSession } from '../../../firmware/sim/native/dispatcher.js';
import { DirectoryStorage } from '../../../firmware/sim/state.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function fakeSession(board?: { native: { sessions: Set<NativeSession> } }): NativeSession {
  const s: NativeSession = {
    emit: () => undefined,
    link: { backlog: 0, settings: { baudRate: 115200 } } as never,
    data: new Map(),
    onClose: () => undefined,
    onDamagedFrame: () => undefined,
    closed: false,
  };
  board?.native.sessions.add(s);
  return s;
}

async function call(board: Awaited<ReturnType<typeof createBoard>>, cmd: number, payload: Uint8Array = new Uint8Array(0)): Promise<Frame> {
  const out = await board.native.dispatch({ version: 1, type: MSG.REQUEST, seq: 9, cmd, payload }, fakeSession());
  return decodeFrame(out!.subarray(0, -1));
}

describe('simulated board', () => {
  it('keeps its identity, key and counters in --state across restarts', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'psb-'));
    dirs.push(dir);
    const a = await createBoard({ stateDir: dir, seed: 7 });
    const b = await createBoard({ stateDir: dir, seed: 99 });
    expect(b.identity).toEqual(a.identity);
    expect(b.deviceKey.fingerprint).toBe(a.deviceKey.fingerprint);
    expect(b.bootCount).toBe(a.bootCount + 1);
    expect(readdirSync(dir).some((f) => f.includes('.tmp'))).toBe(false);
    const fresh = await createBoard({ seed: 99 });
    expect(fresh.deviceKey.fingerprint).not.toBe(a.deviceKey.fingerprint);
    await Promise.all([a.stop(), b.stop(), fresh.stop()]);
  });

  it('answers IDENTITY with the public key whose SHA-256 is the fingerprint', async () => {
    const board = await createBoard({ cells: 8, chemistry: 'nmc' });
    const f = await call(board, CMD.IDENTITY);
    expect(f.type).toBe(MSG.RESPONSE);
    const id = IDENTITY.decode(f.payload);
    expect(id.cellCount).toBe(8);
    expect(id.chemistry).toBe('nmc');
    expect(id.boardId).toBe('PSB-8S-NMC-A');
    const key = DEVICE_KEY.decode((await call(board, CMD.DEVICE_KEY)).payload);
    const hex = Buffer.from(sha256(key.publicKey)).toString('hex');
    expect(hex).toBe(board.deviceKey.fingerprint);
    await board.stop();
  });

  it('dispatches registered commands, maps NativeError to typed errors, rejects unknown ones', async () => {
    const board = await createBoard();
    board.native.register(0x02f0, (p) => p.map((x) => x + 1));
    board.native.register(0x02f1, () => {
      throw new NativeError(ERR.DENIED, 'not now');
    });
    expect(() => board.native.register(0x02f0, () => undefined)).toThrow(/twice/);
    expect((await call(board, 0x02f0, new Uint8Array([1, 2]))).payload).toEqual(new Uint8Array([2, 3]));
    const denied = await call(board, 0x02f1);
    expect(denied.type).toBe(MSG.ERROR);
    expect(ERROR.decode(denied.payload)).toEqual({ code: ERR.DENIED, message: 'not now' });
    const unknown = await call(board, 0x0ff0);
    expect(ERROR.decode(unknown.payload).code).toBe(ERR.UNKNOWN_COMMAND);
    const bad = await call(board, CMD.PARAM_SET, new Uint8Array([1]));
    expect(ERROR.decode(bad.payload).code).toBe(ERR.MALFORMED);
    const ro = await call(board, CMD.PARAM_SET, PARAM_VALUE.encode({ id: 7, value: 5 }));
    expect(ERROR.decode(ro.payload).code).toBe(ERR.READ_ONLY);
    await board.stop();
  });

  it('lists registered regions and hashes their ranges', async () => {
    const board = await createBoard({ scratchBytes: 4096, subsystems: false });
    const mem = new Uint8Array(1000).map((_, i) => i & 0xff);
    board.native.registerRegion({ id: 0x30, name: 'test', size: () => mem.length, read: (o, n) => mem.slice(o, o + n) });
    const list = REGION_LIST.decode((await call(board, CMD.REGION_LIST)).payload).regions;
    expect(list.map((r) => r.name).sort()).toEqual(['scratch', 'settings-evidence', 'test']);
    const h = REGION_HASH.decode((await call(board, CMD.REGION_HASH, REGION_RANGE.encode({ region: 0x30, offset: 10, length: 500 }))).payload);
    expect(h.sha256).toEqual(sha256(mem.slice(10, 510)));
    const oob = await call(board, CMD.REGION_HASH, REGION_RANGE.encode({ region: 0x30, offset: 900, length: 500 }));
    expect(ERROR.decode(oob.payload).code).toBe(ERR.OUT_OF_RANGE);
    await board.stop();
  });

  it('persists parameters atomically', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'psb-'));
    dirs.push(dir);
    const a = await createBoard({ storage: new DirectoryStorage(dir) });
    await call(a, CMD.PARAM_SET, PARAM_VALUE.encode({ id: 3, value: 42 }));
    const b = await createBoard({ stateDir: dir });
    expect(b.params.find((p) => p.id === 3)!.value).toBe(42);
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('bulk transfer opening rules', () => {
  it('refuses a second connection writing the same region with BUSY', async () => {
    const board = await createBoard({ subsystems: false, scratchBytes: 8192 });
    const session = fakeSession(board);
    const other = fakeSession(board);
    const open = (transferId: number, from = session) =>
      board.native.dispatch(
        {
          version: 1,
          type: MSG.REQUEST,
          seq: transferId,
          cmd: CMD.BULK_WRITE_OPEN,
          payload: BULK_OPEN.encode({ transferId, region: 1, flags: 0, offset: 0, length: 4096, chunkSize: 1024, window: 4 }),
        },
        from,
      );
    expect(decodeFrame((await open(1))!.subarray(0, -1)).type).toBe(MSG.RESPONSE);
    // the same connection may replace its own abandoned write
    expect(decodeFrame((await open(3))!.subarray(0, -1)).type).toBe(MSG.RESPONSE);
    const second = decodeFrame((await open(2, other))!.subarray(0, -1));
    expect(second.type).toBe(MSG.ERROR);
    expect(ERROR.decode(second.payload).code).toBe(ERR.BUSY);
    await board.stop();
  });

  it('grants NAKs only to a host that asks, and names the chunk of a granted write whose frame arrived damaged', async () => {
    const board = await createBoard({ subsystems: false, scratchBytes: 8192 });
    const session = fakeSession(board);
    const naks: Array<{ transferId: number; offset: number }> = [];
    session.emit = (cmd, payload) => {
      if (cmd === CMD.EV_BULK_NAK) naks.push(BULK_NAK.decode(payload));
    };
    let damaged: (head: DamagedHead) => void = () => undefined;
    session.onDamagedFrame = (fn) => (damaged = fn);
    const open = async (cmd: number, transferId: number, flags: number) => {
      const req = {
        version: 1,
        type: MSG.REQUEST,
        seq: transferId,
        cmd,
        payload: BULK_OPEN.encode({ transferId, region: 1, flags, offset: 0, length: 4096, chunkSize: 1024, window: 4 }),
      };
      const f = decodeFrame((await board.native.dispatch(req, session))!.subarray(0, -1));
      return BULK_OPEN.decode(f.payload).flags;
    };
    expect(await open(CMD.BULK_WRITE_OPEN, 7, BULK_FLAG.NAK | BULK_FLAG.COMPRESS)).toBe(BULK_FLAG.NAK | BULK_FLAG.COMPRESS);
    expect(await open(CMD.BULK_READ_OPEN, 8, BULK_FLAG.COMPRESS)).toBe(BULK_FLAG.COMPRESS);
    const head = (transferId: number, offset: number): DamagedHead => ({
      type: MSG.EVENT,
      seq: 0,
      cmd: CMD.EV_BULK_DATA,
      payload: encodeBulkData(transferId, offset, 0, new Uint8Array(9)),
    });
    damaged(head(7, 1024));
    damaged(head(7, 1000)); // not a chunk's offset
    damaged(head(8, 1024)); // a read: the board sends, it does not NAK
    expect(naks).toEqual([{ transferId: 7, offset: 1024 }]);
    await board.stop();
  });
});
