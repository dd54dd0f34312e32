import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { PackscopeApi } from '../../shared/api/contract.js';
import { IPC_CHANNEL } from '../../shared/api/ipc.js';
import { createRpcClient } from '../../shared/api/rpc-client.js';

/**
 * The preload (sandboxed, bundled to one CommonJS file): exposes exactly one object,
 * window.packscope, with two plain functions implementing the API contract. The renderer never
 * sees ipcRenderer, never picks a channel, never gets an Electron object.
 */
const client = createRpcClient((message) => ipcRenderer.send(IPC_CHANNEL, message));
ipcRenderer.on(IPC_CHANNEL, (_event, message: unknown) => client.receive(message));

const api: PackscopeApi = {
  call: (method, params) => client.call(method, params),
  on: (event, listener) => client.on(event, listener),
};

contextBridge.exposeInMainWorld('packscope', api);

// A file dropped anywhere on the window: its path is known only here (webUtils), so the preload
// hands it to the host, which opens it on its screen. The page itself handles drops only in a
// browser, where it uploads the bytes instead.
globalThis.addEventListener?.('drop', (e: DragEvent) => {
  const file = e.dataTransfer?.files[0];
  const path = file ? webUtils.getPathForFile(file) : '';
  if (path) void client.call('files.dropped', { path }).catch(() => undefined);
});
