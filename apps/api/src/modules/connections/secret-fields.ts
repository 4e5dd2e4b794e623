import { z } from 'zod';

/** What a stored secret looks like on the way out, and what an update sends to keep it. */
export const SECRET_MASK = '********';

interface SchemaInternals {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, z.ZodType>;
      innerType?: z.ZodType;
      in?: z.ZodType;
      options?: z.ZodType[];
      left?: z.ZodType;
      right?: z.ZodType;
      getter?: () => z.ZodType;
    };
  };
}

/**
 * Dotted paths of the fields a connection schema marks `.meta({ secret: true })`, looking
 * through optional/default/nullable wrappers, unions (each branch) and nested objects.
 */
export function secretPaths(schema: z.ZodType): string[] {
  const found = new Set<string>();
  walk(schema, '', false, found, new Set());
  return [...found].sort();
}

function walk(
  schema: z.ZodType,
  path: string,
  secret: boolean,
  found: Set<string>,
  seen: Set<z.ZodType>,
): void {
  const isSecret =
    secret || (z.globalRegistry.get(schema) as { secret?: unknown } | undefined)?.secret === true;
  const def = (schema as unknown as SchemaInternals)._zod.def;
  const next = (s: z.ZodType | undefined, p = path, sec = isSecret): void => {
    if (s) walk(s, p, sec, found, seen);
  };
  switch (def.type) {
    case 'object':
      if (isSecret && path !== '') found.add(path);
      for (const [key, field] of Object.entries(def.shape ?? {}))
        next(field, path === '' ? key : `${path}.${key}`, false);
      return;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      next(def.innerType);
      return;
    case 'pipe':
      next(def.in);
      return;
    case 'lazy':
      // recursive schemas go through lazy: visit each one once
      if (seen.has(schema)) return;
      seen.add(schema);
      next(def.getter?.());
      return;
    case 'union':
      for (const option of def.options ?? []) next(option);
      return;
    case 'intersection':
      next(def.left);
      next(def.right);
      return;
    default:
      if (isSecret && path !== '') found.add(path);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function getPath(obj: Json, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

export function setPath(obj: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(cur[key])) cur[key] = {};
    cur = cur[key] as Json;
  }
  cur[keys[keys.length - 1]] = value;
}

function deletePath(obj: Json, path: string): void {
  const keys = path.split('.');
  let cur: unknown = obj;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(cur)) return;
    cur = cur[key];
  }
  if (isObject(cur)) delete cur[keys[keys.length - 1]];
}

/** Splits a config into what is stored in clear and the secret values (by path). */
export function splitSecrets(config: Json, paths: readonly string[]): { plain: Json; secrets: Json } {
  const plain = structuredClone(config);
  const secrets: Json = {};
  for (const path of paths) {
    const value = getPath(plain, path);
    if (value === undefined) continue;
    secrets[path] = value;
    deletePath(plain, path);
  }
  return { plain, secrets };
}

/** The config with the secret values put back in. */
export function joinSecrets(plain: Json, secrets: Json): Json {
  const config = structuredClone(plain);
  for (const [path, value] of Object.entries(secrets)) setPath(config, path, value);
  return config;
}

/** The config as shown: each stored secret replaced by the mask. */
export function maskSecrets(plain: Json, secrets: Json): Json {
  const config = structuredClone(plain);
  for (const path of Object.keys(secrets)) setPath(config, path, SECRET_MASK);
  return config;
}
