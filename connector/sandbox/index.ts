/** The sandbox's public surface: the server (SANDBOX_CONTRACT.md) and the CLI command. */
export * from './server.js';
export {
  SANDBOX_CLI_DEFAULT_PORT,
  addSandboxCommand,
  faultsFromCliOptions,
  runSandboxCommand,
  sandboxFaultOptions,
  type SandboxCommandOptions,
  type SandboxFaultOption,
} from './command.js';
export { parseFaults } from './faults.js';
