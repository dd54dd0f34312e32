/**
 * What the host must know about a part to flash it through its ROM: where flash is and how it is
 * divided into erasable pages or sectors, and how long erasing takes at worst (to size timeouts).
 * Keyed by the product ID the ROM reports (Get ID). Figures: the reference manuals' flash module
 * organisation tables and datasheet maximum erase times; AN2606 for the bootloader RAM use.
 */
export interface Stm32Part {
  productId: number;
  name: string;
  flashBase: number;
  /** Erase units in address order: page/sector sizes in bytes. */
  pageSizes: readonly number[];
  /** Worst-case erase time per unit, ms (parallel to pageSizes). */
  pageEraseMaxMs: readonly number[];
  massEraseMaxMs: number;
  ramUserStart: number;
}

function repeat<T>(v: T, n: number): T[] {
  return Array.from({ length: n }, () => v);
}

/** F2/F4 sector layout for `kib` KiB of single-bank flash: 4×16, 1×64, then 128 KiB sectors. */
function f4Layout(kib: number): { sizes: number[]; max: number[] } {
  const sizes = [16, 16, 16, 16, 64];
  let total = 128;
  while (total < kib) {
    sizes.push(128);
    total += 128;
  }
  // Datasheet maxima at x32 parallelism: 500 ms / 1.1 s / 2 s.
  return { sizes: sizes.map((k) => k * 1024), max: sizes.map((k) => (k === 16 ? 500 : k === 64 ? 1100 : 2000)) };
}

function f4Part(productId: number, name: string, kib: number): Stm32Part {
  const l = f4Layout(kib);
  return { productId, name, flashBase: 0x0800_0000, pageSizes: l.sizes, pageEraseMaxMs: l.max, massEraseMaxMs: 16_000, ramUserStart: 0x2000_3000 };
}

function f1Part(productId: number, name: string, kib: number, page: number, ramUserStart: number): Stm32Part {
  const n = (kib * 1024) / page;
  // STM32F1 page erase 40 ms max, mass erase 40 ms max (datasheet tERASE/tME).
  return { productId, name, flashBase: 0x0800_0000, pageSizes: repeat(page, n), pageEraseMaxMs: repeat(40, n), massEraseMaxMs: 40, ramUserStart };
}

export const KNOWN_PARTS: readonly Stm32Part[] = [
  f1Part(0x412, 'STM32F10xxx low-density', 32, 1024, 0x2000_0200),
  f1Part(0x410, 'STM32F10xxx medium-density', 128, 1024, 0x2000_0200),
  f1Part(0x414, 'STM32F10xxx high-density', 512, 2048, 0x2000_0200),
  f4Part(0x413, 'STM32F40xxx/41xxx', 1024),
  f4Part(0x423, 'STM32F401xB/C', 256),
  f4Part(0x433, 'STM32F401xD/E', 512),
  f4Part(0x431, 'STM32F411xC/E', 512),
  f4Part(0x421, 'STM32F446xx', 512),
];

export function partById(productId: number): Stm32Part | null {
  return KNOWN_PARTS.find((p) => p.productId === productId) ?? null;
}

export function flashEnd(part: Stm32Part): number {
  return part.flashBase + part.pageSizes.reduce((a, b) => a + b, 0);
}

export interface PageSpan {
  index: number;
  address: number;
  size: number;
  eraseMaxMs: number;
}

export function pages(part: Stm32Part): PageSpan[] {
  const out: PageSpan[] = [];
  let a = part.flashBase;
  part.pageSizes.forEach((size, index) => {
    out.push({ index, address: a, size, eraseMaxMs: part.pageEraseMaxMs[index]! });
    a += size;
  });
  return out;
}

/** The pages [start, end) touches, in order. */
export function pagesCovering(part: Stm32Part, ranges: ReadonlyArray<{ start: number; end: number }>): PageSpan[] {
  return pages(part).filter((p) => ranges.some((r) => r.start < p.address + p.size && r.end > p.address));
}
