/** CAN stack for PackScope: frames, bus timing, SLCAN, ISO-TP, UDS and the Pylontech broadcasts. */
export * from './frame.js';
export * from './bittime.js';
export * from './slcan.js';
export * from './isotp.js';
export * from './uds.js';
export * from './seedkey.js';
export * from './pylontech.js';
