/**
 * Constants the Electron shell and its preload agree on. One IPC channel carries every RPC message
 * in both directions; the renderer is served from app://packscope/ and nothing else is trusted.
 */
export const IPC_CHANNEL = 'packscope:rpc';
export const APP_SCHEME = 'app';
export const APP_HOST = 'packscope';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
