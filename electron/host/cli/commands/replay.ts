import { PackscopeError } from '../../../../shared/errors.js';
import { openPty } from '../../../../firmware/sim/pty.js';
import { loadCapture, ReplayBoard } from '../../transport/replay.js';
import type { CommandModule } from '../context.js';
import { numberOption, parseCommandArgs } from '../context.js';

/** `packscope replay FILE.jsonl`: a captured board, played back on a pseudo-terminal. */
export default {
  summary: 'Play a raw capture (--capture FILE.jsonl) back as a board on a pseudo-terminal',
  usage: `Usage: packscope replay FILE.jsonl [--speed F]

Reproduces a customer's board from a capture made with --capture: prints 'pty /dev/pts/N' and
'pid N' (like 'packscope sim --pty'), then answers every request the capture holds with the answer
the board gave, at the captured timing (the next request in order first, then any identical one);
a request the capture does not hold gets silence. Bytes the board sent unasked (a listen-only
capture, broadcasts) are played on their own timeline from the start. Runs until SIGINT/SIGTERM.

  --speed F           play answers F times faster (default 1)
  --json              on exit, {"answered", "unknown", "bytesIn", "bytesOut"}`,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, { speed: { type: 'string' } }, true);
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new PackscopeError('USAGE', 'replay needs exactly one capture file (FILE.jsonl)');
    const speed = numberOption(values.speed, 'speed', 1, 0.01, 1000);
    const capture = loadCapture(file);
    const pty = await openPty();
    const board = new ReplayBoard(capture, (b) => pty.pipe.write(b), { speed, ...(ctx.clock ? { clock: ctx.clock } : {}) });
    pty.pipe.onData((d) => board.receive(d));
    ctx.out(`pty ${pty.path}`);
    ctx.out(`pid ${process.pid}`);
    ctx.err(
      `replaying ${file}: ${capture.exchanges.length} exchange(s)${capture.unsolicited.length ? `, ${capture.unsolicited.length} unsolicited chunk(s)` : ''}, captured on ${capture.header.port} at ${capture.header.line.baudRate} baud. Ctrl-C to stop.`,
    );
    board.start();
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener('abort', () => resolve());
      pty.pipe.onEnd(() => resolve());
    });
    board.stop();
    pty.close();
    if (values.json) ctx.out(JSON.stringify(board.stats));
    else ctx.err(`answered ${board.stats.answered} request(s); ${board.stats.unknown} request(s) not in the capture`);
    return 0;
  },
} satisfies CommandModule;
