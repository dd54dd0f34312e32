/** MCUboot images, signing keys and Intel HEX: platform-free codecs and checks. */
export * from './mcuboot.js';
export * from './firmware-keys.js';
export * from './sign.js';
export * from './verify.js';
export * from './ihex.js';
export * from './load.js';
export * from './fw-status.js';
export * from './fw-messages.js';
