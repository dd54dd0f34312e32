/** The CLI's commands, one module each (command-table.ts says which module serves which command). */
export * from './command-table.js';
