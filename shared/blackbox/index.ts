/** The black-box evidence format: records, segments, streaming decoder, verification, certificates, export rows. */
export * from './events.js';
export * from './format.js';
export * from './segment.js';
export * from './decoder.js';
export * from './verify.js';
export * from './certificate.js';
export * from './export.js';
export * from './writer.js';
export * from './messages.js';
export * from './pslog-format.js';
