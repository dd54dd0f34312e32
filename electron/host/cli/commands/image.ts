import path from 'node:path';
import { PackscopeError } from '../../../../shared/errors.js';
import {
  decodeImageFile,
  decodePayloadFile,
  describeImage,
  generateKey,
  parseImage,
  parsePrivateKeyPem,
  parseVersion,
  privateKeyToPem,
  publicKeyToPem,
  signImage,
  verifyImage,
  writeIntelHex,
  type KeyType,
} from '../../../../shared/image/index.js';
import { toHex } from '../../../../shared/util/bytes.js';
import { loadTrustedKeys, readInputFile, readTextFile } from '../../flasher/files.js';
import { writeFileAtomic } from '../../util/files.js';
import { summarize } from '../../flasher/flasher.js';
import { numberOption, parseCommandArgs, requireOption, subcommands, type CliContext, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';

const usage = `Usage:
  packscope image sign --key KEY.pem --version X.Y.Z[+B] --board BOARD-ID [--security-counter N]
                       [--header-size 0x200] [--align 8] [--slot-size N [--confirm]] [--public-key-full]
                       IN(.bin|.hex) OUT(.img|.bin|.hex)
  packscope image inspect IMG [--trust PUB.pem ...] [--board BOARD-ID] [--json]
  packscope image keygen --type ed25519|ecdsa-p256 --out KEY.pem

sign      Makes a signed MCUboot image (the layout imgtool writes; imgtool verify accepts it).
          The board id travels in PackScope's protected TLV 0xa0. --security-counter sets the
          anti-rollback counter (SEC_CNT); --slot-size pads to a slot with a trailer (--confirm
          marks it image_ok). OUT ending in .hex is written as Intel HEX.
inspect   Shows version, board, size, hash, security counter, and the signature status against the
          --trust keys. Exit 0 when the image is intact (and, with --trust, validly signed by one
          of them), 6 otherwise, 8 when the file is not an image.
keygen    Writes a PKCS#8 private key (mode 0600) and its public key beside it as KEY.pub.pem
          (SPKI), the formats imgtool and OpenSSL use. Never overwrites. For test and lab use.`;

const num = (v: string | undefined, name: string, fallback: number, min: number, max: number) =>
  numberOption(v === undefined ? undefined : String(Number(v)), name, fallback, min, max);

async function sign(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      key: { type: 'string' },
      version: { type: 'string' },
      board: { type: 'string' },
      'security-counter': { type: 'string' },
      'header-size': { type: 'string' },
      align: { type: 'string' },
      'slot-size': { type: 'string' },
      confirm: { type: 'boolean' },
      'public-key-full': { type: 'boolean' },
    },
    true,
  );
  if (positionals.length !== 2) throw new PackscopeError('USAGE', 'image sign needs IN and OUT files');
  const [input, output] = positionals as [string, string];
  const key = parsePrivateKeyPem(readTextFile(requireOption(values.key, 'key'), 'key'));
  const version = (() => {
    try {
      return parseVersion(requireOption(values.version, 'version'));
    } catch (e) {
      throw new PackscopeError('USAGE', (e as Error).message);
    }
  })();
  const board = requireOption(values.board, 'board');
  const headerSize = num(values['header-size'], 'header-size', 0x200, 32, 0xffff);
  const align = num(values.align, 'align', 8, 1, 32);
  if (![1, 2, 4, 8, 16, 32].includes(align)) throw new PackscopeError('USAGE', '--align must be 1, 2, 4, 8, 16 or 32');
  const counter = values['security-counter'] === undefined ? undefined : num(values['security-counter'], 'security-counter', 0, 0, 0xffffffff);
  const slotSize = values['slot-size'] === undefined ? undefined : num(values['slot-size'], 'slot-size', 0, 1, 0x10000000);
  if (values.confirm && slotSize === undefined) throw new PackscopeError('USAGE', '--confirm needs --slot-size (it is recorded in the slot trailer)');
  const { payload, format, address } = decodePayloadFile(readInputFile(input, 'input'), input);
  const image = signImage({
    payload,
    version,
    key,
    boardId: board,
    securityCounter: counter,
    headerSize,
    align,
    padToSlot: slotSize,
    confirm: values.confirm,
    publicKeyFull: values['public-key-full'],
  });
  const outHex = /\.hex$/i.test(output);
  const base = Math.max(0, (address ?? 0) - headerSize);
  writeFileAtomic(output, outHex ? writeIntelHex([{ address: base, data: image }]) : image);
  const s = summarize(parseImage(image));
  if (values.json) {
    ctx.out(JSON.stringify({ output, format: outHex ? 'ihex' : 'bin', input: { file: input, format, address }, keyType: key.type, ...s }));
  } else {
    ctx.out(
      `signed ${output}: version ${s.version}, board ${s.boardId}, ${s.size} bytes, security counter ${s.securityCounter ?? 'none'}, ${key.type} key ${toHex(key.publicKey.keyHash).slice(0, 16)}…`,
    );
    ctx.out(`  sha256 ${s.hash}`);
  }
  return EXIT.OK;
}

async function inspect(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { trust: { type: 'string', multiple: true }, board: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new PackscopeError('USAGE', 'image inspect needs one IMG file');
  const file = positionals[0]!;
  const trusted = loadTrustedKeys(values.trust);
  const { image, format, address } = decodeImageFile(readInputFile(file, 'image'));
  const r = verifyImage(image, { trustedKeys: trusted, boardId: values.board });
  const sigTlv = image.tlvs.find((t) => t.type === 0x24 || t.type === 0x22);
  const checked = trusted.length > 0;
  const intact = r.hash.status === 'ok';
  const ok = intact && (!checked || r.signature.status === 'valid') && r.boardId.status !== 'mismatch' && r.boardId.status !== 'absent';
  // The signature covers the SHA256 TLV, not the bytes: over a hash that does not match the
  // contents, a valid signature proves nothing about this image, so it is not called valid.
  const unchecked = !intact ? (r.hash.status === 'mismatch' ? 'the image hash does not match' : 'the image has no SHA256 TLV') : null;
  const signature = !sigTlv ? 'missing' : unchecked ? `not checked: ${unchecked}` : checked ? r.signature.status : 'not checked (no --trust key given)';
  if (values.json) {
    ctx.out(
      JSON.stringify({
        file,
        format,
        address,
        valid: ok,
        version: r.version,
        boardId: r.boardId.value,
        imageSize: image.header.imageSize,
        totalSize: image.bytes.length,
        loadAddr: image.header.loadAddr,
        flags: image.header.flags,
        hash: r.hash,
        signature:
          !sigTlv || (intact && checked)
            ? r.signature
            : { ...r.signature, status: 'not_checked', trustedKey: null, ...(unchecked ? { reason: unchecked } : {}) },
        securityCounter: r.securityCounter.value,
        trailer: image.trailer,
        problems: checked ? r.problems : r.problems.filter((p) => !/signed by an unknown key/.test(p)),
        layout: describeImage(image),
      }),
    );
  } else {
    const keyHash = r.signature.keyHash ?? (image.tlvs.find((t) => t.type === 0x01) ? toHex(image.tlvs.find((t) => t.type === 0x01)!.value) : null);
    ctx.out(`${path.basename(file)} (${format === 'ihex' ? `Intel HEX at 0x${(address ?? 0).toString(16)}` : 'binary'})`);
    ctx.out(`  version           ${r.version}`);
    ctx.out(`  board             ${r.boardId.value ?? '(none)'}${r.boardId.status === 'mismatch' ? `  ≠ expected ${values.board}` : ''}`);
    ctx.out(`  size              ${image.header.imageSize} bytes body, ${image.bytes.length} bytes image (header 0x${image.header.headerSize.toString(16)})`);
    ctx.out(
      `  sha256            ${r.hash.computed} (${r.hash.status === 'ok' ? 'matches its SHA256 TLV' : r.hash.status === 'missing' ? 'no SHA256 TLV' : 'DOES NOT match its SHA256 TLV'})`,
    );
    ctx.out(
      `  signature         ${sigTlv ? (sigTlv.type === 0x24 ? 'Ed25519' : 'ECDSA P-256') : '-'}: ${signature}${r.signature.trustedKey && !unchecked ? ` by ${r.signature.trustedKey}` : ''}`,
    );
    if (keyHash) ctx.out(`  key hash          ${keyHash}`);
    ctx.out(`  security counter  ${r.securityCounter.value ?? '(none)'}`);
    if (image.trailer) ctx.out(`  trailer           boot magic, image_ok ${image.trailer.imageOk === 1 ? 'set (confirmed)' : 'unset'}`);
    for (const p of checked ? r.problems : r.problems.filter((x) => !/signed by an unknown key/.test(x))) ctx.out(`  problem: ${p}`);
  }
  return ok ? EXIT.OK : EXIT.VERIFY_FAILED;
}

function publicPath(out: string): string {
  return /\.pem$/i.test(out) ? out.replace(/\.pem$/i, '.pub.pem') : `${out}.pub.pem`;
}

async function keygen(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { type: { type: 'string' }, out: { type: 'string' } }, true);
  if (positionals.length) throw new PackscopeError('USAGE', `unexpected argument '${positionals[0]}'`);
  const type = requireOption(values.type, 'type');
  if (type !== 'ed25519' && type !== 'ecdsa-p256') throw new PackscopeError('USAGE', '--type must be ed25519 or ecdsa-p256');
  const out = requireOption(values.out, 'out');
  const pub = publicPath(out);
  const key = generateKey(type as KeyType);
  writeFileAtomic(out, privateKeyToPem(key), { mode: 0o600, exclusive: true });
  try {
    writeFileAtomic(pub, publicKeyToPem(key.publicKey), { mode: 0o644, exclusive: true });
  } catch (e) {
    throw new PackscopeError((e as PackscopeError).code ?? 'IO', `${(e as Error).message} (the private key ${out} was written; its public key was not)`);
  }
  const keyHash = toHex(key.publicKey.keyHash);
  if (values.json) ctx.out(JSON.stringify({ type, privateKey: out, publicKey: pub, keyHash }));
  else {
    ctx.out(`wrote ${out} (${type} private key, PKCS#8, mode 0600) and ${pub} (public key)`);
    ctx.out(`  key hash ${keyHash}`);
    ctx.err('This key is for test and lab use: keep production signing keys in an HSM or an offline signing host.');
  }
  return EXIT.OK;
}

export default {
  summary: 'Sign, inspect and make keys for MCUboot firmware images',
  usage,
  run: subcommands('image', usage, { sign, inspect, keygen }),
} satisfies CommandModule;
