/** The sandbox's public surface: the server and its fault settings (the CLI command is commands/sandbox.ts). */
export * from './server.js';
export { parseFaults } from './faults.js';
