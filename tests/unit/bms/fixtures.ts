import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../../../shared/util/bytes.js';

/** A published frame from tests/fixtures/bmsframes (see its README.md for provenance and doubts). */
export interface FixtureFrame {
  id: string;
  direction: 'request' | 'response';
  hex: string;
  /** Pylontech RS485 only: the line as text, CR written as \\r. */
  ascii?: string;
  transport: string;
  decoded: Record<string, unknown> | null;
  decoded_if_checksum_ignored?: Record<string, unknown>;
  values_source?: string;
  source: string;
  expect?: 'error' | 'checksum_ok';
  derived?: boolean;
}

export function loadFixtures(protocol: 'jbd' | 'daly' | 'jk' | 'pylontech_rs485'): FixtureFrame[] {
  const path = fileURLToPath(new URL(`../../fixtures/bmsframes/${protocol}.json`, import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { frames: FixtureFrame[] }).frames;
}

export function bytesOf(f: FixtureFrame): Uint8Array {
  return fromHex(f.hex);
}

/** Test title: the frame id and where it was published. */
export function title(f: FixtureFrame): string {
  return `${f.id} — ${f.source}`;
}

export const num = (v: unknown): number => v as number;
