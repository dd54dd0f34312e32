/** The board's black box: the flash ring, the recorder, its signing keys, and the subsystem that installs them. */
export * from './install.js';
export { BlackBoxRecorder } from './recorder.js';
export { FileRing, MemoryRing } from './ring.js';
export { boardRating, loadBlackBoxKeys, signMessage, nodeKeyFromSecret } from './signing-keys.js';
