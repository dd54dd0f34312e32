/** The simulated CAN side: an SLCAN adapter on the board's serial line and the bus behind it. */
export * from './slcan-personality.js';
