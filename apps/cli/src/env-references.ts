import { InputError } from './input-error.ts';

// ${VAR}, ${VAR:-default}, and $${ for a literal "${"
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` with the variable's value and `${VAR:-default}` with the default when the
 * variable is unset or empty, as a shell does. An unset variable without a default is an error
 * naming it and `where` it was used; values themselves never appear in messages.
 */
export function expandEnvReferences(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  where: string,
): string {
  return text.replace(REFERENCE, (_whole, name: string | undefined, fallback: string | undefined) => {
    if (name === undefined) return '${';
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    throw new InputError(
      `${where}: environment variable ${name} is not set (set it, or write \${${name}:-default})`,
    );
  });
}
