import pg from 'pg';

/**
 * Creates the application database when it is missing, so a fresh PostgreSQL needs no manual
 * step: connects to the server's `postgres` database and runs CREATE DATABASE.
 */
export async function ensureDatabase(url: string): Promise<{ created: boolean }> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, '')) || 'postgres';
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (e) {
    throw new Error(`cannot reach PostgreSQL at ${target.hostname}:${target.port || 5432}: ${describe(e)}`, {
      cause: e,
    });
  }
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount !== 0) return { created: false };
    try {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
      return { created: true };
    } catch (e) {
      // another instance created it at the same moment
      if ((e as { code?: string }).code === '42P04') return { created: false };
      throw new Error(`cannot create database "${name}": ${describe(e)}`, { cause: e });
    }
  } finally {
    await client.end();
  }
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function describe(e: unknown): string {
  const err = e as { code?: string; message?: string };
  return [err.code, err.message].filter(Boolean).join(' ') || String(e);
}
