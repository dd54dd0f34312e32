import { deflateSync } from 'fflate';
import { crc32 } from '../../../shared/protocol/crc32.js';
import { concatBytes, utf8Encode } from '../../../shared/util/bytes.js';

/** A hand-written ZIP writer that can produce every kind of hostile archive the reader must refuse. */
export interface RawEntry {
  name: string;
  data: Uint8Array;
  unixMode?: number;
  deflate?: boolean;
  declaredSize?: number;
  flags?: number;
  method?: number;
  /** Point this entry's central record at the previous entry's local header. */
  overlapPrevious?: boolean;
  /** Central-directory offset override (for entries hidden inside another entry's data). */
  offsetOverride?: number;
  /** Leave this entry's local header out (it already exists inside another entry's data). */
  noLocal?: boolean;
}

function le(n: number, bytes: number): number[] {
  return Array.from({ length: bytes }, (_, i) => (n >>> (8 * i)) & 255);
}

export function rawZip(entries: RawEntry[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  let prevOffset = 0;
  for (const e of entries) {
    const name = utf8Encode(e.name);
    const body = e.deflate ? deflateSync(e.data) : e.data;
    const method = e.method ?? (e.deflate ? 8 : 0);
    const crc = crc32(e.data);
    const usize = e.declaredSize ?? e.data.length;
    const flags = (e.flags ?? 0) | 0x800;
    const madeBy = e.unixMode !== undefined ? (3 << 8) | 20 : 20;
    const attrs = e.unixMode !== undefined ? (e.unixMode << 16) >>> 0 : 0;
    const at = e.offsetOverride ?? (e.overlapPrevious ? prevOffset : offset);
    if (!e.overlapPrevious && !e.noLocal) {
      const local = concatBytes(
        Uint8Array.from([
          ...le(0x04034b50, 4),
          ...le(20, 2),
          ...le(flags, 2),
          ...le(method, 2),
          ...le(0, 4),
          ...le(crc, 4),
          ...le(body.length, 4),
          ...le(usize, 4),
          ...le(name.length, 2),
          ...le(0, 2),
        ]),
        name,
        body,
      );
      locals.push(local);
      prevOffset = offset;
      offset += local.length;
    }
    const nameForCentral = e.overlapPrevious ? utf8Encode(entries[entries.indexOf(e) - 1]!.name) : name;
    centrals.push(
      concatBytes(
        Uint8Array.from([
          ...le(0x02014b50, 4),
          ...le(madeBy, 2),
          ...le(20, 2),
          ...le(flags, 2),
          ...le(method, 2),
          ...le(0, 4),
          ...le(crc, 4),
          ...le(body.length, 4),
          ...le(usize, 4),
          ...le(nameForCentral.length, 2),
          ...le(0, 2),
          ...le(0, 2),
          ...le(0, 2),
          ...le(0, 2),
          ...le(attrs, 4),
          ...le(at, 4),
        ]),
        nameForCentral,
      ),
    );
  }
  const cd = concatBytes(...centrals);
  const eocd = Uint8Array.from([
    ...le(0x06054b50, 4),
    ...le(0, 2),
    ...le(0, 2),
    ...le(entries.length, 2),
    ...le(entries.length, 2),
    ...le(cd.length, 4),
    ...le(offset, 4),
    ...le(0, 2),
  ]);
  return concatBytes(...locals, cd, eocd);
}

/**
 * The overlapping-file bomb (Fifield, 2019): entry "b"'s local header and data sit inside entry
 * "a"'s stored data, so the same bytes are extracted twice under different names.
 */
export function overlappingZip(): Uint8Array {
  const inner = rawZip([{ name: 'b', data: utf8Encode('payload') }]);
  const innerLocal = inner.subarray(0, 30 + 1 + 7);
  return rawZip([
    { name: 'a', data: innerLocal },
    { name: 'b', data: utf8Encode('payload'), noLocal: true, offsetOverride: 30 + 1 },
  ]);
}
