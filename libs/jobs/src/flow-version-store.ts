import type { Redis } from 'ioredis';

export interface FlowVersionStoreOptions {
  /** Key prefix, e.g. `junction:flow-version`. */
  prefix: string;
  /** Versions remembered as stored by this process (the API), so a run costs no Redis call. */
  rememberMax?: number;
}

/**
 * Flow versions in Redis, written once by the API and read by workers: run payloads refer to
 * their version by id instead of carrying the definition. Versions never change, so a key is
 * written with NX and a reader may cache it for good. A version's key lives until its flow is
 * deleted; one lost with Redis's data is written again by the API's reconciler, for every
 * version a queued or running job needs.
 */
export class FlowVersionStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly rememberMax: number;
  private readonly stored = new Set<string>();

  constructor(redis: Redis, options: FlowVersionStoreOptions) {
    this.redis = redis;
    this.prefix = options.prefix;
    this.rememberMax = options.rememberMax ?? 10_000;
  }

  /** Stores the version unless this process already did. */
  async put(versionId: string, definition: object): Promise<void> {
    if (this.stored.has(versionId)) return;
    await this.redis.set(this.key(versionId), JSON.stringify(definition), 'NX');
    if (this.stored.size >= this.rememberMax) this.stored.clear();
    this.stored.add(versionId);
  }

  /** Stores every version that is missing, whatever this process remembers; answers how many were. */
  async ensure(versions: ReadonlyArray<{ id: string; definition: object }>): Promise<number> {
    if (versions.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const v of versions) pipeline.set(this.key(v.id), JSON.stringify(v.definition), 'NX');
    const results = (await pipeline.exec()) ?? [];
    let written = 0;
    for (const [error, reply] of results) {
      if (error) throw error;
      if (reply === 'OK') written++;
    }
    return written;
  }

  /** The stored definition, or undefined when Redis does not have it. */
  async get(versionId: string): Promise<unknown> {
    const text = await this.redis.get(this.key(versionId));
    return text === null ? undefined : (JSON.parse(text) as unknown);
  }

  /**
   * Deletes the stored versions `known` does not vouch for (their flow was deleted), a SCAN page
   * at a time; answers how many went.
   */
  async sweep(known: (versionIds: string[]) => Promise<Set<string>>): Promise<number> {
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 500);
      cursor = next;
      const ids = keys.map((k) => k.slice(this.prefix.length + 1));
      if (ids.length === 0) continue;
      const keep = await known(ids);
      const gone = ids.filter((id) => !keep.has(id));
      await this.delete(gone);
      removed += gone.length;
    } while (cursor !== '0');
    return removed;
  }

  async delete(versionIds: readonly string[]): Promise<void> {
    if (versionIds.length === 0) return;
    for (const id of versionIds) this.stored.delete(id);
    await this.redis.del(...versionIds.map((id) => this.key(id)));
  }

  private key(versionId: string): string {
    return `${this.prefix}:${versionId}`;
  }
}
