/**
 * Host side of the black box: pulling a board's log into a .pslog, reading and verifying .pslog
 * files, and exporting them. Others use `openPslog` (Logs screen, evidence packages).
 */
export { openPslog, PslogReader, PslogWriter, nodeVerifier, type PslogMeta, type IndexEntry, type PslogVerifyReport, type SegmentOrDamage } from './pslog.js';
export { pullLog, blackBoxStatus, deviceCertificate, type PullOptions, type PullResult } from './pull.js';
export { exportLog, type ExportResult } from './export.js';
