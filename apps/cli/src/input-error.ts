/**
 * Bad input from the user (arguments, flow file, params, connections file). The CLI prints its
 * lines and exits 2, never a stack trace.
 */
export class InputError extends Error {
  readonly lines: readonly string[];
  constructor(lines: string | readonly string[]) {
    const list = typeof lines === 'string' ? [lines] : lines;
    super(list.join('\n'));
    this.name = 'InputError';
    this.lines = list;
  }
}
