/**
 * Transports: byte streams to a board. createTransport picks one by the port a user names; the
 * serial port list and USB adapter identities live beside them (serial-ports.ts, usb-adapters.ts).
 */
export * from './create-transport.js';
