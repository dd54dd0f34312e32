/** The simulated STM32 ROM bootloader (AN3155): the personality, the chip models, its memory and the ROM itself. */
export * from './rom-personality.js';
export { STM32F40X, STM32F40X_CHECKSUM, STM32F10X_MD, STM32_PARTS, flashSize, type Stm32DeviceModel, type SectorInfo } from './device.js';
export { Stm32Memory } from './memory.js';
export { Stm32Rom, ACK, NACK, SYNC, CMD, type RomExit, type RomPort, type RomState, type RomTraceEvent } from './rom.js';
