import { defineConnector } from '@junction/flow';
import { run } from './run.operation.ts';

/** User JavaScript over records, sandboxed in isolated-vm. */
export const connector = defineConnector({
  id: 'script',
  title: 'Script',
  version: '1.0.0',
  description: 'Runs JavaScript over records in an isolated sandbox, with time and memory limits.',
  operations: { run },
});
