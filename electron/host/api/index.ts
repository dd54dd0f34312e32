/** The host's API: createHostApi (the handler of every contract method) and its event hub. */
export * from './host-api.js';
export { HostEvents } from './events.js';
