/**
 * Wraps a dynamic import so it runs on first use and is then shared. Connectors import their
 * drivers (pg, mysql2, isolated-vm, xml2js...) this way rather than at module load: loading the
 * registry stays cheap, and a run loads only what its flow uses. A failed import (a broken
 * install) is tried again on the next call rather than remembered.
 */
export function lazyImport<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    if (!loading) {
      const attempt = load();
      loading = attempt;
      attempt.catch(() => {
        if (loading === attempt) loading = undefined;
      });
    }
    return loading;
  };
}
