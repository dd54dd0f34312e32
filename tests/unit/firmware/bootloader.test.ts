import { describe, expect, it } from 'vitest';
import { BOOT_MODES, BootRefusal } from '../../../firmware/sim/boot/bootloader.js';
import { BOOT_EVENT } from '../../../firmware/sim/boot/journal.js';
import { encodeImageMeta, generateKey, parseImage, parseVersion, signImage } from '../../../shared/image/index.js';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { BOARD, bootEnv, makeImage } from './boot-env.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../../shared/util/bytes.js';

async function upload(bl: Awaited<ReturnType<typeof bootEnv>>['bootloader'], image: Uint8Array) {
  await bl.beginUpdate(encodeImageMeta(parseImage(image)));
  await bl.writeSecondary(0, image);
  return bl.finishUpload();
}

describe.each(BOOT_MODES)('bootloader state machine (%s)', (mode) => {
  it('first start installs and runs a signed 1.0.0 with counter 1', async () => {
    const env = await bootEnv({ mode });
    expect(env.firstStart).toBe(true);
    const s = env.bootloader.status();
    expect(s.running).toBe('primary');
    expect(s.runningVersion).toBe('1.0.0+0');
    expect(s.primary).toMatchObject({ valid: true, signature: 'valid', boardId: BOARD, securityCounter: 1 });
    expect(s.securityCounter).toBe(1);
    expect(s.testing).toBe(false);
  });

  it('test boot runs the new image once and reverts at the next reset unless confirmed', async () => {
    const env = await bootEnv({ mode });
    const bl = env.bootloader;
    const img = makeImage(env.signingKey, { version: '1.1.0', counter: 2 });
    expect((await upload(bl, img)).valid).toBe(true);
    await bl.requestTest();
    expect((await bl.boot()).event).toBe(BOOT_EVENT.SWAPPED_TEST);
    expect(bl.status()).toMatchObject({ runningVersion: '1.1.0+0', testing: true, securityCounter: 1 });
    // Uploading over the fallback image while testing is refused.
    await expect(bl.beginUpdate(encodeImageMeta(parseImage(img)))).rejects.toMatchObject({ reason: 'testing' });
    expect((await bl.boot()).event).toBe(BOOT_EVENT.REVERTED);
    expect(bl.status()).toMatchObject({ runningVersion: '1.0.0+0', testing: false });
    // Again, and confirm this time: it stays, and the counter rises.
    await bl.requestTest();
    await bl.boot();
    await bl.confirm();
    expect((await bl.boot()).event).toBe(BOOT_EVENT.BOOTED);
    expect(bl.status()).toMatchObject({ runningVersion: '1.1.0+0', testing: false, securityCounter: 2 });
    expect(bl.status().secondary.version).toBe('1.0.0+0');
  });

  it('refuses unknown keys, other boards and lower counters before erasing anything', async () => {
    const env = await bootEnv({ mode });
    const bl = env.bootloader;
    // Raise the counter to 5 with a confirmed update first.
    await upload(bl, makeImage(env.signingKey, { version: '1.2.0', counter: 5 }));
    await bl.requestTest();
    await bl.boot();
    await bl.confirm();
    const cases: Array<[Uint8Array, string]> = [
      [makeImage(generateKey('ed25519'), { version: '2.0.0', counter: 9 }), 'unknown_key'],
      [makeImage(env.signingKey, { version: '2.0.0', counter: 9, board: 'OTHER-BOARD' }), 'wrong_board'],
      [makeImage(env.signingKey, { version: '2.0.0', counter: 4 }), 'security_counter_too_low'],
      [makeImage(env.signingKey, { version: '2.0.0', counter: 9, size: 40 * 1024 }), 'too_large'],
    ];
    for (const [img, reason] of cases) {
      const before = env.flash.opCount;
      const err = await bl.beginUpdate(encodeImageMeta(parseImage(img))).catch((e) => e);
      expect(err).toBeInstanceOf(BootRefusal);
      expect(err.reason).toBe(reason);
      expect(env.flash.opCount).toBe(before);
    }
  });

  it('a pending image that fails verification at boot is rejected and the old one runs', async () => {
    const env = await bootEnv({ mode });
    const bl = env.bootloader;
    const img = makeImage(env.signingKey, { version: '1.1.0', counter: 2 });
    await upload(bl, img);
    await bl.requestTest();
    // Flip bits in the body after the request (as a failing flash cell would).
    env.flash.program(bl.layout.secondary * bl.layout.sectorSize + 0x300, Uint8Array.of(0));
    const r = await bl.boot();
    expect(r.event).toBe(BOOT_EVENT.REJECTED);
    expect(r.reason).toBe('hash_mismatch');
    expect(bl.status().runningVersion).toBe('1.0.0+0');
  });

  it('a resumed upload rewrites only whole sectors and the result verifies', async () => {
    const env = await bootEnv({ mode });
    const img = makeImage(env.signingKey, { version: '1.1.0', counter: 2 });
    let bl = env.bootloader;
    await bl.beginUpdate(encodeImageMeta(parseImage(img)));
    await bl.writeSecondary(0, img.subarray(0, 10_000)); // stops mid-sector
    bl = env.rebootFresh();
    await bl.boot();
    await bl.beginUpdate(encodeImageMeta(parseImage(img)));
    // The first two sectors survived the reset intact; the third (cut mid-way) is rewritten whole.
    expect(toHex(bl.hashSecondary(0, 8192))).toBe(toHex(sha256(img.subarray(0, 8192))));
    await bl.writeSecondary(8192, img.subarray(8192));
    expect(bl.finishUpload().valid).toBe(true);
  });

  it('revert of a confirmed image swaps the previous one back if its counter allows', async () => {
    const env = await bootEnv({ mode });
    const bl = env.bootloader;
    await upload(bl, makeImage(env.signingKey, { version: '1.1.0', counter: 1 }));
    await bl.requestTest();
    await bl.boot();
    await bl.confirm();
    expect((await bl.revert()).mode).toBe('swap-back');
    await bl.boot();
    expect(bl.status().runningVersion).toBe('1.0.0+0');
  });
});

describe.each(BOOT_MODES)('bootloader recovery (%s)', (mode) => {
  it('a primary image damaged in flash is replaced by a valid secondary image at boot', async () => {
    const env = await bootEnv({ mode });
    const bl = env.bootloader;
    await upload(bl, makeImage(env.signingKey, { version: '1.1.0', counter: 2 }));
    // A failing cell in the running image's body.
    const base = bl.layout.primary * bl.layout.sectorSize;
    const body = env.flash.read(base + 0x200, 4096);
    const at = base + 0x200 + body.findIndex((b) => b !== 0);
    env.flash.program(at, Uint8Array.of(0));
    const r = await bl.boot();
    expect(r.event).toBe(BOOT_EVENT.RECOVERED);
    expect(bl.status()).toMatchObject({ runningVersion: '1.1.0+0', running: 'primary' });
  });
});

describe('dual-bank bootloader', () => {
  it('starts a test image by switching the boot bank (one journal record), reverts by switching back, and keeps the old bank untouched', async () => {
    const env = await bootEnv({ mode: 'dual-bank' });
    const bl = env.bootloader;
    const ss = bl.layout.sectorSize;
    const bankA = () => env.flash.read(bl.layout.primary * ss, bl.slotSize);
    const factoryA = bankA();
    await upload(bl, makeImage(env.signingKey, { version: '1.1.0', counter: 2 }));
    await bl.requestTest();
    let ops = env.flash.opCount;
    expect((await bl.boot()).event).toBe(BOOT_EVENT.SWAPPED_TEST);
    expect(env.flash.opCount - ops).toBeLessThanOrEqual(2); // a record, and an erase when a journal sector fills
    expect(bl.status()).toMatchObject({ mode: 'dual-bank', activeBank: 'b', runningVersion: '1.1.0+0', testing: true });
    expect(bl.status().secondary.version).toBe('1.0.0+0');
    // Not confirmed: the next boot switches back.
    ops = env.flash.opCount;
    expect((await bl.boot()).event).toBe(BOOT_EVENT.REVERTED);
    expect(env.flash.opCount - ops).toBeLessThanOrEqual(2);
    expect(bl.status()).toMatchObject({ activeBank: 'a', runningVersion: '1.0.0+0', testing: false });
    expect(toHex(sha256(bankA()))).toBe(toHex(sha256(factoryA)));
    // Test again and confirm: bank b stays, the counter rises, bank a holds the fallback image.
    await bl.requestTest();
    await bl.boot();
    await bl.confirm();
    expect((await bl.boot()).event).toBe(BOOT_EVENT.BOOTED);
    expect(bl.status()).toMatchObject({ activeBank: 'b', runningVersion: '1.1.0+0', testing: false, securityCounter: 2 });
    // The next upload goes into bank a, the inactive one.
    const before = env.flash.read(bl.layout.secondary * ss, bl.slotSize);
    await upload(bl, makeImage(env.signingKey, { version: '1.2.0', counter: 2 }));
    expect(toHex(sha256(env.flash.read(bl.layout.secondary * ss, bl.slotSize)))).toBe(toHex(sha256(before)));
    expect(bl.status().secondary.version).toBe('1.2.0+0');
  });

  it('the UDS erase invalidates the old image at once, erases ahead of the download, and clears a sector the download skipped before the check', async () => {
    const env = await bootEnv({ mode: 'dual-bank' });
    const bl = env.bootloader;
    const ss = bl.layout.sectorSize;
    await upload(bl, makeImage(env.signingKey, { version: '1.1.0', counter: 2 }));
    await bl.requestTest();
    await bl.boot();
    await bl.confirm(); // bank a now holds the 1.0.0 fallback: the next upload overwrites it
    // An image whose third sector is all 0xFF: a host that believes the slot erased skips it.
    const probe = makeImage(env.signingKey, { version: '1.2.0', counter: 2 });
    const hdr = parseImage(probe).header.headerSize;
    const payload = syntheticApplication(24 * 1024, 9);
    payload.fill(0xff, 2 * ss - hdr, 3 * ss - hdr);
    const img = signImage({ payload, version: parseVersion('1.2.0'), key: env.signingKey, securityCounter: 2, boardId: BOARD });
    expect(img.subarray(2 * ss, 3 * ss).every((b) => b === 0xff)).toBe(true);
    expect(bl.status().secondary.present).toBe(true);
    const ops = env.flash.opCount;
    await bl.eraseSecondary(img.length);
    expect(env.flash.opCount - ops).toBe(1); // only the first sector now
    expect(bl.status().secondary.present).toBe(false);
    await bl.writeSecondary(0, img.subarray(0, ss));
    await bl.eraseAhead(ss, ss); // the next block's sector, while it is on the bus
    await bl.writeSecondary(ss, img.subarray(ss, 2 * ss));
    await bl.writeSecondary(3 * ss, img.subarray(3 * ss));
    expect(bl.finishUpload().reason).toBe('hash_mismatch'); // sector 2 still holds the old image
    await bl.finishErase();
    expect(bl.finishUpload().valid).toBe(true);
  });

  it('a pending switch whose journal record a power cut tore is done again at the next boot', async () => {
    const env = await bootEnv({ mode: 'dual-bank' });
    const bl = env.bootloader;
    await upload(bl, makeImage(env.signingKey, { version: '1.1.0', counter: 2 }));
    await bl.requestTest();
    env.flash.armPowerLoss(1);
    await expect(bl.boot()).rejects.toThrow(/power lost/);
    env.flash.powerOn();
    const fresh = env.rebootFresh();
    const r = await fresh.boot();
    expect(r.event).toBe(BOOT_EVENT.SWAPPED_TEST);
    expect(fresh.status()).toMatchObject({ activeBank: 'b', runningVersion: '1.1.0+0', testing: true });
  });
});
