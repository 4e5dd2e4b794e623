import jsonata from 'jsonata';

/** `{{ expr }}` inside a string value. A string that is exactly one template yields the raw value. */
export const TEMPLATE = /\{\{([\s\S]+?)\}\}/g;

export function hasTemplate(value: unknown): value is string {
  return typeof value === 'string' && value.includes('{{') && /\{\{[\s\S]+?\}\}/.test(value);
}

export interface TemplatePart {
  /** The JSONata source between the braces, trimmed. */
  expr: string;
  /** Offset of the expression in the whole string, for error positions. */
  offset: number;
}

/** Finds the `{{ }}` templates of a field's text as its operation reads them (see templatesIn). */
export type TemplateScanner = (text: string) => readonly TemplatePart[];

export function templateParts(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  for (const m of text.matchAll(TEMPLATE)) {
    const inner = m[1];
    const lead = inner.length - inner.trimStart().length;
    parts.push({ expr: inner.trim(), offset: (m.index ?? 0) + 2 + lead });
  }
  return parts;
}

/** The whole string is a single `{{ expr }}`, so its value keeps its type (number, object, ...). */
export function isWholeTemplate(text: string): boolean {
  return /^\s*\{\{[\s\S]+?\}\}\s*$/.test(text) && templateParts(text).length === 1;
}

export interface ExpressionInfo {
  /** Step ids referenced as `steps.<id>`. */
  steps: string[];
  /** Parameter names referenced as `params.<name>`. */
  params: string[];
}

export type ParseResult = { ok: true; info: ExpressionInfo } | { ok: false; message: string };

interface JsonataError {
  message?: string;
  position?: number;
  token?: string;
}

/** Parses a JSONata expression and lists what it refers to, or explains the syntax error. */
export function parseExpression(expr: string): ParseResult {
  let ast: unknown;
  try {
    ast = jsonata(expr).ast();
  } catch (e) {
    const err = e as JsonataError;
    const at = typeof err.position === 'number' ? ` at position ${err.position}` : '';
    return { ok: false, message: `invalid expression${at}: ${err.message ?? String(e)}` };
  }
  const info: ExpressionInfo = { steps: [], params: [] };
  collectRefs(ast, info);
  return { ok: true, info };
}

interface AstNode {
  type?: string;
  value?: unknown;
  steps?: AstNode[];
}

function collectRefs(node: unknown, info: ExpressionInfo): void {
  if (Array.isArray(node)) {
    for (const n of node) collectRefs(n, info);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const n = node as AstNode;
  if (n.type === 'path' && Array.isArray(n.steps) && n.steps.length >= 2) {
    const [head, next] = n.steps;
    if (head.type === 'name' && next.type === 'name' && typeof next.value === 'string') {
      if (head.value === 'steps') info.steps.push(next.value);
      if (head.value === 'params') info.params.push(next.value);
    }
  }
  for (const v of Object.values(n)) if (typeof v === 'object' && v !== null) collectRefs(v, info);
}
