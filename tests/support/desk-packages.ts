/**
 * A supplier's inbox for claims-desk tests and the desk benchmark: diagnosis packages from several
 * board types (two manufacturing CAs, three models, several firmware versions and production
 * batches), every simulator scenario (the simulator's pack model runs each board's history), each
 * pulled with a claim ticket the supplier issued and assembled with PackScope's own assembler as a
 * customer's installation would. Some are forged and re-signed with a fresh installation key, as
 * an attacker would (a clean history on a device key of the attacker's own CA, or one segment
 * edited), and some are sent twice under another name.
 * Also writes the supplier file (roots, policy, ticket key, decision key, SLA).
 */
import { generateKeyPairSync, sign as nodeSign, createPublicKey } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { createPackModel } from '../../firmware/sim/pack/index.js';
import { SCENARIOS, type ScenarioName } from '../../firmware/sim/pack/types.js';
import { recordValues } from '../../firmware/sim/blackbox/install.js';
import type { RecordValues } from '../../shared/blackbox/format.js';
import { decodeDeviceEvidence, deviceFiles } from '../../shared/evidence/blackbox-evidence.js';
import { assemblePackage } from '../../shared/evidence/package.js';
import { encodeTicketFile, signTicket, ticketNonce } from '../../shared/evidence/ticket.js';
import { writeZip } from '../../shared/codec/zip-write.js';
import { utf8Encode } from '../../shared/util/bytes.js';
import { DEFAULT_POLICY } from '../../shared/warranty/default-policy.js';
import { hostSignatureVerifier } from '../../electron/host/evidence/fast-verify.js';
import { toolVersion } from '../../electron/host/evidence/package-file.js';
import { makeCa, makeDeviceLog, type Ca } from '../unit/evidence/device-log.js';
import { makePng } from '../unit/evidence/png.js';

export interface Board {
  model: string;
  cells: number;
  capacityAh: number;
  ca: number;
  firmware: string[];
}

export const BOARDS: Board[] = [
  { model: 'PS-LFP-100', cells: 16, capacityAh: 100, ca: 1, firmware: ['1.4.2', '1.5.0'] },
  { model: 'PS-LFP-50', cells: 8, capacityAh: 50, ca: 1, firmware: ['1.4.2', '1.5.0'] },
  { model: 'PS-LFP-12V', cells: 4, capacityAh: 100, ca: 2, firmware: ['2.0.1'] },
];

export interface GeneratedPackage {
  path: string;
  model: string;
  scenario: ScenarioName;
  forged: boolean;
  /** How it was forged: a log on the attacker's own device key, or an edited segment. */
  forgery: 'fabricated' | 'edited' | null;
  /** The path of the package this one is a byte-for-byte copy of. */
  duplicateOf: string | null;
}

export interface DeskFixture {
  dir: string;
  supplier: string;
  roots: string[];
  policy: string;
  ticketKeyPub: string;
  signingKey: string;
  packages: GeneratedPackage[];
}

export interface InboxOptions {
  /** Packages in all, duplicates included. */
  count: number;
  /** Minutes of history per board (default 30: enough for every scenario's abuse to show). */
  minutes?: number;
  /** Every n-th package is forged (default 10) and every m-th is a duplicate (default 12). */
  forgeEvery?: number;
  duplicateEvery?: number;
  /** SLA in the supplier file. */
  sla?: unknown;
  /** Time the packs were read out (default: five minutes ago), or per package by its number. */
  endMs?: number | ((i: number) => number);
}

export const DEFAULT_SLA = {
  responseHours: 4,
  resolutionHours: 72,
  desk: { name: 'Claims desk', contacts: ['claims@supplier.example'] },
  escalation: [
    { name: 'Quality manager', limitHours: 24, contacts: ['qm@supplier.example'] },
    { name: 'Management', limitHours: 48, contacts: ['coo@supplier.example'] },
  ],
};

function history(board: Board, scenario: ScenarioName, seed: number, startMs: number, seconds: number): RecordValues[] {
  const model = createPackModel({ cells: board.cells, capacityAh: board.capacityAh, chemistry: 'lfp', scenario, seed, startTimeMs: startMs });
  const out: RecordValues[] = [recordValues(model.state(), 1)];
  for (let s = 1; s <= seconds; s++) {
    model.step(1);
    const st = model.state();
    const events = model.takeEvents();
    if (!events.length) out.push(recordValues(st, 0));
    for (const e of events) out.push(recordValues(st, e));
  }
  return out;
}

const freshSigner = () => {
  const sk = ed25519.utils.randomSecretKey();
  return { publicKey: ed25519.getPublicKey(sk), sign: (m: Uint8Array) => ed25519.sign(m, sk) };
};

export async function makeDeskInbox(dir: string, o: InboxOptions): Promise<DeskFixture> {
  mkdirSync(join(dir, 'inbox'), { recursive: true });
  const minutes = o.minutes ?? 30;
  const forgeEvery = o.forgeEvery ?? 10;
  const duplicateEvery = o.duplicateEvery ?? 12;
  const now = Date.now();
  const endOf = (i: number) => (typeof o.endMs === 'function' ? o.endMs(i) : (o.endMs ?? now - 5 * 60_000));
  const cas = new Map<number, Ca>([1, 2].map((n) => [n, makeCa(n)]));
  const roots = [1, 2].map((n) => {
    const p = join(dir, `root-${n}.pem`);
    writeFileSync(p, cas.get(n)!.pem);
    return p;
  });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signingKey = join(dir, 'supplier-key.pem');
  const ticketKeyPub = join(dir, 'supplier-key.pub.pem');
  writeFileSync(signingKey, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  writeFileSync(ticketKeyPub, publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const spki = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  const supplierSigner = { publicKey: spki.slice(spki.length - 32), sign: (m: Uint8Array) => new Uint8Array(nodeSign(null, m, privateKey)) };
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify(DEFAULT_POLICY));
  const supplier = join(dir, 'supplier.json');
  writeFileSync(
    supplier,
    JSON.stringify({
      name: 'Example Batteries Ltd',
      roots: roots.map((r) => r.slice(dir.length + 1)),
      policy: 'policy.json',
      ticketKey: 'supplier-key.pub.pem',
      signingKey: 'supplier-key.pem',
      sla: o.sla ?? DEFAULT_SLA,
    }),
  );
  const packages: GeneratedPackage[] = [];
  const photo = makePng(32, 24);
  for (let i = 0; i < o.count; i++) {
    const name = join(dir, 'inbox', `claim-${String(i).padStart(4, '0')}.psdiag`);
    const earlier = packages.filter((p) => !p.duplicateOf);
    if (duplicateEvery > 0 && i % duplicateEvery === duplicateEvery - 1 && earlier.length) {
      const src = earlier[(i * 7) % earlier.length]!;
      copyFileSync(src.path, name);
      packages.push({ ...src, path: name, duplicateOf: src.path });
      continue;
    }
    const endMs = endOf(i);
    const board = BOARDS[i % BOARDS.length]!;
    const scenario = SCENARIOS[Math.floor(i / BOARDS.length) % SCENARIOS.length]!;
    const forged = forgeEvery > 0 && i % forgeEvery === forgeEvery - 1;
    const serial = `PS${board.model.slice(-3).replace(/[^0-9A-Z]/g, 'X')}-${String(100000 + i)}`;
    const start = endMs - minutes * 60_000;
    // Forgeries alternate: a clean history fabricated on a board key the attacker certified with
    // a CA of their own, or the honest log with one segment edited.
    const fabricated = forged && Math.floor(i / forgeEvery) % 2 === 0;
    const values = history(board, fabricated ? 'normal' : scenario, 1000 + i, start, minutes * 60);
    const ticket = await signTicket(
      {
        claimId: `C-${String(i).padStart(5, '0')}`,
        serial,
        nonce: ed25519.utils.randomSecretKey().slice(0, 10),
        issuedAt: new Date(endMs - 10 * 60_000),
        expiresAt: new Date(endMs + 30 * 86_400_000),
      },
      supplierSigner,
    );
    const log = makeDeviceLog(values, {
      serial,
      model: board.model,
      ca: fabricated ? makeCa(99) : cas.get(board.ca)!,
      deviceSeed: i,
      cells: board.cells,
      nominalCapacityAh: board.capacityAh,
      firmwareVersion: board.firmware[i % board.firmware.length]!,
      certificateIssuedMs: Date.UTC(2025, 6 + (i % 4), 1),
      nonce: ticketNonce(ticket),
    });
    let device = deviceFiles(log);
    if (forged && !fabricated) {
      // Edit a byte in the middle of the closed segments, as a customer hiding a stretch would.
      const segs = device.get('segments.bin')!.slice();
      segs[segs.length >> 1] ^= 0x55;
      device = new Map(device).set('segments.bin', segs);
    }
    const evidence = decodeDeviceEvidence(device, { rootPublicKeyPem: null }, hostSignatureVerifier());
    const { files } = await assemblePackage({
      evidence,
      deviceFiles: device,
      claim: {
        customer: `Customer ${i}`,
        contact: `customer${i}@example.org`,
        model: board.model,
        serial,
        purchaseDate: new Date(endMs - 120 * 86_400_000).toISOString().slice(0, 10),
        description: 'The pack shuts off under load.',
        remedy: i % 2 ? 'replacement' : 'repair',
      },
      policy: DEFAULT_POLICY,
      photos: i % 5 === 0 ? [{ name: 'pack.png', data: photo }] : [],
      createdAt: new Date(endMs + 60_000),
      toolVersion: toolVersion(),
      signer: freshSigner(),
      ticket: utf8Encode(encodeTicketFile(ticket)),
    });
    writeFileSync(name, writeZip(files));
    packages.push({ path: name, model: board.model, scenario, forged, forgery: forged ? (fabricated ? 'fabricated' : 'edited') : null, duplicateOf: null });
  }
  return { dir, supplier, roots, policy, ticketKeyPub, signingKey, packages };
}

/** The `package verify` call a supplier makes for one package without the desk: the reference the desk is checked against. */
export function verifyOneArgs(fx: DeskFixture, p: GeneratedPackage): string[] {
  return ['package', 'verify', p.path, '--root', fx.roots[p.model === 'PS-LFP-12V' ? 1 : 0]!, '--policy', fx.policy, '--ticket-key', fx.ticketKeyPub, '--json'];
}
