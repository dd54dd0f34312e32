/**
 * Desktop recordings: a session's telemetry written into a .pslog (startRecording), and reading
 * one back as evidence.
 */
export * from './recording.js';
export { desktopRecordingOf, DESKTOP_RECORDING_KIND, type DesktopRecordingMeta } from './pslog-sink.js';
export { desktopRecordingEvidence } from './evidence.js';
export type { RecordingGap, RecordingSummary } from './recorder.js';
