import type { FlashGeometry } from '../flash/nor-flash.js';

/**
 * Where the bootloader keeps things in flash: two equal image slots, one scratch sector for the
 * swap, and two sectors for the boot-state journal (used alternately, so the one holding the
 * latest state is never erased).
 */
export interface FlashLayout {
  sectorSize: number;
  slotSectors: number;
  primary: number; // first sector of each area
  secondary: number;
  scratch: number;
  status: [number, number];
  geometry: FlashGeometry;
}

export interface LayoutOptions {
  sectorSize?: number;
  pageSize?: number;
  slotSize?: number;
}

/** Default: 4 KiB sectors, 256-byte pages, 256 KiB slots (SPI NOR class). */
export function makeLayout(o: LayoutOptions = {}): FlashLayout {
  const sectorSize = o.sectorSize ?? 4096;
  const pageSize = Math.min(o.pageSize ?? 256, sectorSize);
  const slotSize = o.slotSize ?? 256 * 1024;
  if (slotSize % sectorSize !== 0) throw new RangeError('slot size must be a whole number of sectors');
  const slotSectors = slotSize / sectorSize;
  return {
    sectorSize,
    slotSectors,
    primary: 0,
    secondary: slotSectors,
    scratch: 2 * slotSectors,
    status: [2 * slotSectors + 1, 2 * slotSectors + 2],
    // 64 KiB block erase where the slots allow it (the slots start block-aligned).
    geometry: { sectorSize, pageSize, sectorCount: 2 * slotSectors + 3, ...(slotSize % 65536 === 0 && 65536 % sectorSize === 0 ? { blockSize: 65536 } : {}) },
  };
}

export function slotBytes(l: FlashLayout): number {
  return l.slotSectors * l.sectorSize;
}
