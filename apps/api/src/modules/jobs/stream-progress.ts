import type { Redis } from 'ioredis';

/** How far the API's consumer group has stored the event stream. */
export interface StreamSnapshot {
  /** True when every entry up to and including `id` has been read and acknowledged. */
  covers(id: string): boolean;
}

/** Reads stream positions, so the reconciler can tell "not reported yet" from "never will be". */
export class StreamProgress {
  private readonly redis: Redis;
  private readonly stream: string;
  private readonly group: string;

  constructor(redis: Redis, stream: string, group: string) {
    this.redis = redis;
    this.stream = stream;
    this.group = group;
  }

  /** The id of the newest entry written so far ('0-0' when none). */
  async top(): Promise<string> {
    const newest = (await this.redis.xrevrange(this.stream, '+', '-', 'COUNT', 1)) as Array<
      [string, string[]]
    >;
    return newest[0]?.[0] ?? '0-0';
  }

  async snapshot(): Promise<StreamSnapshot> {
    let delivered: string | undefined;
    try {
      const groups = (await this.redis.call('XINFO', 'GROUPS', this.stream)) as unknown[][];
      for (const info of groups) {
        const fields = new Map<string, unknown>();
        for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
        if (fields.get('name') === this.group) delivered = idText(fields.get('last-delivered-id'));
      }
    } catch {
      // no stream yet: nothing was ever written, so nothing is missing
      return { covers: () => true };
    }
    // no consumer group yet: nothing has been stored
    if (delivered === undefined) return { covers: (id) => compareIds(id, '0-0') <= 0 };
    const upTo = delivered;
    const pending = (await this.redis.call('XPENDING', this.stream, this.group)) as [number, string | null];
    const oldestPending = pending[0] > 0 ? pending[1] : null;
    return {
      covers: (id) =>
        compareIds(id, upTo) <= 0 && (oldestPending === null || compareIds(id, oldestPending) < 0),
    };
  }
}

export function compareIds(a: string, b: string): number {
  const [am, as = '0'] = a.split('-');
  const [bm, bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

function idText(value: unknown): string {
  return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : '0-0';
}
