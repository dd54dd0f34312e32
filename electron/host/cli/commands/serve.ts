import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PackscopeError } from '../../../../shared/errors.js';
import { createHostApi } from '../../api/index.js';
import { startServer } from '../../serve/server.js';
import { numberOption, parseCommandArgs, type CommandModule } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { packageRoot, packageVersion } from '../../util/package-root.js';

const usage = `Usage: packscope serve [--port N] [--host H] [--open] [--renderer DIR] [--json]

Runs the PackScope app in a browser: serves the built renderer (dist/renderer, made by
'npm run build') and a WebSocket bridge to the host on 127.0.0.1. Every run makes a new random
token; open the printed URL (it carries the token). The demo pack is port 'sim:'.

  --port N        TCP port (default: a free one)
  --host H        listen address; anything but loopback must be asked for explicitly here, and
                  exposes device control to the network (the token still guards every message)
  --open          open the URL in the default browser
  --renderer DIR  serve another renderer build`;

function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

export default {
  summary: 'Run the app in a browser (serves the renderer and a local bridge)',
  usage,
  async run(argv, ctx) {
    const { values } = parseCommandArgs(argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      open: { type: 'boolean' },
      renderer: { type: 'string' },
    });
    const rendererDir = path.resolve(values.renderer ?? path.join(packageRoot(), 'dist/renderer'));
    if (!existsSync(path.join(rendererDir, 'index.html'))) {
      throw new PackscopeError('NOT_FOUND', `no built renderer in ${rendererDir}: run 'npm run build' first`);
    }
    const api = createHostApi({ host: 'browser', version: packageVersion() });
    const server = await startServer({
      handlers: api.handlers,
      events: api.events,
      rendererDir,
      port: numberOption(values.port, 'port', 0, 0, 65535),
      host: values.host ?? '127.0.0.1',
      allowNonLoopback: values.host !== undefined,
    });
    if (values.json) ctx.out(JSON.stringify({ url: server.openUrl, port: server.port, host: server.host }));
    else {
      ctx.out(`PackScope is running at ${server.openUrl}`);
      ctx.err(`Listening on ${server.host}:${server.port}. Press Ctrl-C to stop.`);
    }
    if (values.host !== undefined && !['127.0.0.1', 'localhost', '::1'].includes(values.host)) {
      ctx.err(`warning: listening on ${values.host}; anyone who can reach it and has the URL can control the connected device`);
    }
    if (values.open) openBrowser(server.openUrl);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await api.dispose();
    await server.close();
    return EXIT.OK;
  },
} satisfies CommandModule;
