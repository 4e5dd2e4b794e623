import { parseArgs } from 'node:util';
import { InputError } from '../input-error.ts';
import { RUN_USAGE } from '../usage.ts';

export interface RunArgs {
  file: string;
  params: string[];
  paramsFile?: string;
  connections?: string;
  json: boolean;
  pageSize?: number;
}

/** The options of `junction run`; a bad value is an InputError naming the option. */
export function parseRunArgs(args: string[]): RunArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      param: { type: 'string', short: 'p', multiple: true, default: [] },
      'params-file': { type: 'string' },
      connections: { type: 'string', short: 'c' },
      json: { type: 'boolean', default: false },
      'page-size': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new InputError(`expected one flow file: ${RUN_USAGE}`);
  const pageSize = values['page-size'];
  if (pageSize !== undefined && !(/^\d+$/.test(pageSize) && +pageSize >= 1 && +pageSize <= 100_000)) {
    throw new InputError(
      `--page-size: expected a whole number from 1 to 100000, got ${JSON.stringify(pageSize)}`,
    );
  }
  return {
    file: positionals[0],
    params: values.param,
    paramsFile: values['params-file'],
    connections: values.connections,
    json: values.json,
    pageSize: pageSize === undefined ? undefined : Number(pageSize),
  };
}
