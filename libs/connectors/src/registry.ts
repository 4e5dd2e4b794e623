import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ConnectorManifest, ConnectorRegistry } from '@junction/flow';

const CONNECTORS_DIR = fileURLToPath(new URL('.', import.meta.url));

/**
 * Finds every connector folder (one holding a `connector.ts` that exports `connector`), so adding
 * a connector touches no central list. Refuses to start on a duplicate id or a missing export.
 */
export async function loadConnectorRegistry(dir: string = CONNECTORS_DIR): Promise<ConnectorRegistry> {
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = entries.filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'connector.ts')));
  const manifests = await Promise.all(
    folders.map(async (f) => {
      const file = join(dir, f.name, 'connector.ts');
      const mod = (await import(pathToFileURL(file).href)) as { connector?: ConnectorManifest };
      if (!mod.connector)
        throw new Error(`${file} must export "connector" (a defineConnector(...) manifest)`);
      return mod.connector;
    }),
  );
  return createRegistry(manifests);
}

export function createRegistry(manifests: readonly ConnectorManifest[]): ConnectorRegistry {
  const byId = new Map<string, ConnectorManifest>();
  for (const m of manifests) {
    if (byId.has(m.id)) throw new Error(`two connectors have the id "${m.id}"`);
    for (const [key, op] of Object.entries(m.operations)) {
      if (op.name !== key)
        throw new Error(`connector "${m.id}": operation key "${key}" differs from its name "${op.name}"`);
    }
    byId.set(m.id, m);
  }
  const sorted = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  return { get: (id) => byId.get(id), list: () => sorted };
}
