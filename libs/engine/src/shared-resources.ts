interface Entry {
  value: Promise<unknown>;
  close: (value: unknown) => Promise<void>;
}

export interface SharedResourcesOptions {
  /** Where errors from closing go (they are never thrown); default: console.warn. */
  onCloseError?: (key: string, error: unknown) => void;
}

/**
 * Clients (connection pools...) opened on first use under a key and shared by every step that
 * asks for the same key: one per run by default, or one per worker when the worker passes its
 * own instance to runFlow.
 */
export class SharedResources {
  private readonly entries = new Map<string, Entry>();
  private readonly onCloseError: (key: string, error: unknown) => void;

  constructor(options: SharedResourcesOptions = {}) {
    this.onCloseError =
      options.onCloseError ??
      ((key, error) =>
        console.warn(
          `closing shared resource "${key}" failed: ${error instanceof Error ? error.message : String(error)}`,
        ));
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value under `key`, opened once; concurrent callers share the same opening. A failed open is forgotten. */
  get<T>(key: string, open: () => Promise<T>, close: (value: T) => Promise<void>): Promise<T> {
    const existing = this.entries.get(key);
    if (existing) return existing.value as Promise<T>;
    const value = open();
    const entry: Entry = { value, close: close as (value: unknown) => Promise<void> };
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  /** Closes everything, newest first. Errors are reported to onCloseError, never thrown. */
  async closeAll(): Promise<void> {
    const all = [...this.entries].reverse();
    this.entries.clear();
    for (const [key, entry] of all) {
      let value: unknown;
      try {
        value = await entry.value;
      } catch {
        continue; // it never opened: nothing to close
      }
      try {
        await entry.close(value);
      } catch (error) {
        this.onCloseError(key, error);
      }
    }
  }
}
