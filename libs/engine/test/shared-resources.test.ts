import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineConnector, defineOperation } from '@junction/flow';
import { SharedResources } from '@junction/engine';
import { harness, ofType } from './support/test-connectors.ts';

describe('SharedResources', () => {
  it('opens a key once for concurrent callers and closes everything on closeAll', async () => {
    const closed: string[] = [];
    let opened = 0;
    const shared = new SharedResources();
    const open = async (): Promise<string> => `pool ${++opened}`;
    const close = async (v: string): Promise<void> => {
      closed.push(v);
    };
    const [a, b] = await Promise.all([shared.get('a', open, close), shared.get('a', open, close)]);
    const c = await shared.get('c', open, close);
    expect([a, b, c]).toEqual(['pool 1', 'pool 1', 'pool 2']);
    await shared.closeAll();
    expect(closed).toEqual(['pool 2', 'pool 1']);
    expect(shared.size).toBe(0);
  });

  it('reports close errors instead of throwing, and still closes the rest', async () => {
    const reported: string[] = [];
    const shared = new SharedResources({
      onCloseError: (key, e) => reported.push(`${key}: ${(e as Error).message}`),
    });
    let closedGood = false;
    await shared.get(
      'bad',
      async () => 1,
      async () => Promise.reject(new Error('socket gone')),
    );
    await shared.get(
      'good',
      async () => 2,
      async () => {
        closedGood = true;
      },
    );
    await expect(shared.closeAll()).resolves.toBeUndefined();
    expect(reported).toEqual(['bad: socket gone']);
    expect(closedGood).toBe(true);
  });

  it('forgets a failed open so the next caller tries again', async () => {
    const shared = new SharedResources();
    let tries = 0;
    const open = async (): Promise<number> => {
      if (++tries === 1) throw new Error('refused');
      return tries;
    };
    await expect(shared.get('k', open, async () => undefined)).rejects.toThrow('refused');
    await expect(shared.get('k', open, async () => undefined)).resolves.toBe(2);
  });

  it('shares a client between steps of a run and closes it at the end of the run', async () => {
    const h = harness();
    const conn = { type: 'fakedb', host: 'h' };
    const flow = h.flow({
      steps: [
        { id: 'a', use: 'fakedb.whoami', connection: conn },
        { id: 'b', use: 'fakedb.whoami', connection: conn },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.output).toMatchObject({ pool: 1 });
    expect(h.probe.calls.get('pools opened')).toBe(1);
    expect(h.probe.calls.get('pools closed')).toBe(1);
  });

  it("keeps the caller's resources open across runs", async () => {
    const h = harness();
    const flow = h.flow({
      steps: [{ id: 'a', use: 'fakedb.whoami', connection: { type: 'fakedb', host: 'h' } }],
    });
    const shared = new SharedResources();
    await h.run(flow, { shared });
    await h.run(flow, { shared });
    expect(h.probe.calls.get('pools opened')).toBe(1);
    expect(h.probe.calls.get('pools closed')).toBeUndefined();
    await shared.closeAll();
    expect(h.probe.calls.get('pools closed')).toBe(1);
  });

  it('reports a failing close of a run’s own resources as a warning event', async () => {
    const leaky = defineConnector({
      id: 'leaky',
      title: 'Leaky',
      version: '1.0.0',
      operations: {
        use: defineOperation({
          name: 'use',
          title: 'Use a client that fails to close',
          kind: 'action',
          input: z.strictObject({}),
          async execute(ctx, _input, record) {
            await ctx.shared(
              'client',
              async () => ({}),
              async () => Promise.reject(new Error('already closed')),
            );
            return record;
          },
        }),
      },
    });
    const h = harness(leaky);
    const { result, events } = await h.run(h.flow({ steps: [{ id: 'a', use: 'leaky.use' }] }));
    expect(result.status).toBe('completed');
    expect(ofType(events, 'step.log')).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: 'closing shared resource "leaky:client" failed: already closed',
      }),
    ]);
    expect(events.at(-1)?.type).toBe('job.finished');
  });
});
