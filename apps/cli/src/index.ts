export { main } from './main.ts';
export { ExitCode } from './exit-codes.ts';
export { parseConnectionsText, readConnectionsFile, type ConnectionConfig } from './connections-file.ts';
