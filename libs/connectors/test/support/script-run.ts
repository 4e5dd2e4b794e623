import type { Page, PageResult } from '@junction/flow';
import { run } from '../../src/script/run.operation.ts';
import { opContext, type TestContext } from './op-context.ts';

/** Runs script.run on one page with a context that tests close (disposing its isolates) afterwards. */
export async function runScript(
  input: Record<string, unknown>,
  page: Page,
  ctx: TestContext = opContext(),
): Promise<PageResult> {
  return run.execute(ctx, run.input.parse(input), page);
}
