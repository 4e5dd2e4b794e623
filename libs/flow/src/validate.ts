import type { z } from 'zod';
import type { CatalogConnector, CatalogOperation, ConnectorCatalog } from './catalog.ts';
import { FlowSchema, type Flow } from './flow.ts';
import { formatPath, type PathSegment } from './path.ts';
import { FlowValidationError, type Problem } from './problems.ts';
import { hasTemplate, parseExpression, templateParts } from './templates.ts';

export interface ValidateOptions {
  /** When given, `use`, `with` and inline connections are checked against the connectors' schemas. */
  catalog?: ConnectorCatalog;
}

export type ValidateResult = { ok: true; flow: Flow; problems: [] } | { ok: false; problems: Problem[] };

/**
 * Checks a flow and returns every problem at once: structure, duplicate ids, unknown connectors
 * and operations, connector inputs, template syntax and references to steps that do not run
 * before the template's step.
 */
export function validateFlow(input: unknown, options: ValidateOptions = {}): ValidateResult {
  const problems: Problem[] = [];
  const parsed = FlowSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(issueToProblem(issue, [], input));
  }
  // The semantic pass reads the raw value defensively, so it reports alongside structural issues.
  new SemanticChecker(options, problems).check(input);
  const unique = dedupe(problems);
  if (unique.length > 0 || !parsed.success) return { ok: false, problems: unique };
  return { ok: true, flow: parsed.data, problems: [] };
}

/** Like validateFlow, but throws FlowValidationError. */
export function parseFlow(input: unknown, options: ValidateOptions = {}): Flow {
  const result = validateFlow(input, options);
  if (!result.ok) throw new FlowValidationError(result.problems);
  return result.flow;
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PathSegment, unknown>)[seg];
  }
  return cur;
}

function issueToProblem(issue: z.core.$ZodIssue, base: readonly PathSegment[], root: unknown): Problem {
  const path = [...base, ...issue.path];
  const here = valueAt(root, issue.path);
  let message = issue.message;
  if (issue.code === 'invalid_type' && here === undefined) message = 'required';
  else if (issue.code === 'unrecognized_keys') {
    return {
      path: formatPath(path),
      message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
    };
  } else if (issue.code === 'invalid_value' && 'values' in issue) {
    message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(here)}`;
  } else if (issue.code === 'invalid_type') {
    message = `expected ${issue.expected}, got ${describe(here)}`;
  }
  return { path: formatPath(path), message };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v;
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

class SemanticChecker {
  private readonly seen = new Map<string, string>();
  private readonly allIds = new Set<string>();
  private paramNames = new Set<string>();
  private options: ValidateOptions;
  private problems: Problem[];

  constructor(options: ValidateOptions, problems: Problem[]) {
    this.options = options;
    this.problems = problems;
  }

  check(flow: unknown): void {
    if (!isObj(flow)) return;
    if (isObj(flow.params)) this.paramNames = new Set(Object.keys(flow.params));
    collectIds(flow.steps, this.allIds);
    collectIds(flow.onFailure, this.allIds);
    const visible = this.walk(flow.steps, ['steps'], new Set());
    // onFailure runs after any step may have run; the failure is in scope as `error`.
    this.walk(flow.onFailure, ['onFailure'], new Set([...visible, ...this.allIds]));
  }

  /** Checks a step list; returns the ids visible after it. */
  private walk(steps: unknown, path: PathSegment[], visibleBefore: Set<string>): Set<string> {
    const visible = new Set(visibleBefore);
    if (!Array.isArray(steps)) return visible;
    steps.forEach((step, i) => {
      const at = [...path, i];
      if (!isObj(step)) return;
      const id = typeof step.id === 'string' ? step.id : undefined;
      if (id !== undefined) {
        const first = this.seen.get(id);
        if (first !== undefined) this.add([...at, 'id'], `duplicate id "${id}" (first used at ${first})`);
        else this.seen.set(id, formatPath(at));
      }
      if (typeof step.use === 'string') this.checkConnectorStep(step, at, visible);
      if (typeof step.if === 'string') {
        this.checkCondition(step.if, [...at, 'if'], visible);
        const a = this.walk(step.then, [...at, 'then'], visible);
        const b = this.walk(step.else, [...at, 'else'], visible);
        for (const x of [...a, ...b]) visible.add(x);
      }
      if (typeof step.forEach === 'string') {
        if (step.forEach.trim() !== 'records') {
          if (!hasTemplate(step.forEach)) {
            this.add([...at, 'forEach'], 'expected a {{ expression }} that yields a list, or "records"');
          } else this.checkTemplates(step.forEach, [...at, 'forEach'], visible);
        }
        for (const x of this.walk(step.do, [...at, 'do'], visible)) visible.add(x);
      }
      if ('try' in step) {
        const t = this.walk(step.try, [...at, 'try'], visible);
        const c = this.walk(step.catch, [...at, 'catch'], t);
        const f = this.walk(step.finally, [...at, 'finally'], c);
        for (const x of f) visible.add(x);
      }
      if (id !== undefined) visible.add(id);
    });
    return visible;
  }

  private checkConnectorStep(step: Raw, at: PathSegment[], visible: Set<string>): void {
    const use = step.use as string;
    const w = isObj(step.with) ? step.with : {};
    // code fields (script.run's `code`) are not templates: `{{` there is the code's own syntax
    const described = this.operationOf(use);
    const literal = new Set(described?.literalFields ?? []);
    for (const [key, value] of Object.entries(w)) {
      if (literal.has(key)) continue;
      // fields with a syntax of their own (SQL) say where their templates are
      const scan = described?.templatesIn?.[key];
      if (scan && typeof value === 'string') {
        for (const part of scan(value))
          this.checkExpression(part.expr, [...at, 'with', key], visible, part.offset);
      } else this.checkTemplates(value, [...at, 'with', key], visible);
    }
    if (isObj(step.connection)) this.checkTemplates(step.connection, [...at, 'connection'], visible);
    if (Array.isArray(step.fallback)) this.walk(step.fallback, [...at, 'fallback'], visible);
    if (step.onError === 'fallback' && !Array.isArray(step.fallback)) {
      this.add([...at, 'fallback'], 'required when onError is "fallback"');
    }

    const catalog = this.options.catalog;
    const dot = use.indexOf('.');
    if (!catalog || dot < 0) return;
    const connectorId = use.slice(0, dot);
    const opName = use.slice(dot + 1);
    const connector = catalog.connector(connectorId);
    if (!connector) {
      this.add(
        [...at, 'use'],
        `unknown connector "${connectorId}" (known: ${catalog.connectorIds().join(', ')})`,
      );
      return;
    }
    const op = connector.operations[opName];
    if (!op) {
      this.add(
        [...at, 'use'],
        `connector "${connectorId}" has no operation "${opName}" (it has: ${Object.keys(connector.operations).join(', ')})`,
      );
      return;
    }
    this.checkAgainstSchema(op.input, w, [...at, 'with']);
    this.checkConnection(connector, step, at);
  }

  private operationOf(use: string): CatalogOperation | undefined {
    const dot = use.indexOf('.');
    if (!this.options.catalog || dot < 0) return undefined;
    return this.options.catalog.connector(use.slice(0, dot))?.operations[use.slice(dot + 1)];
  }

  private checkConnection(connector: CatalogConnector, step: Raw, at: PathSegment[]): void {
    if (!connector.connection) {
      if (step.connection !== undefined)
        this.add([...at, 'connection'], `connector "${connector.id}" takes no connection`);
      return;
    }
    if (step.connection === undefined) {
      if (connector.connectionOptional === true) return;
      this.add(
        [...at, 'connection'],
        `required: "${connector.id}" needs a connection (a name or an inline object)`,
      );
      return;
    }
    if (isObj(step.connection))
      this.checkAgainstSchema(connector.connection, step.connection, [...at, 'connection']);
  }

  /** Validates a value that may contain templates: issues at or under a template are deferred to run time. */
  private checkAgainstSchema(schema: z.ZodType, value: Raw, at: PathSegment[]): void {
    const r = schema.safeParse(value);
    if (r.success) return;
    for (const issue of r.error.issues) {
      if (underTemplate(value, issue.path)) continue;
      this.problems.push(issueToProblem(issue, at, value));
    }
  }

  private checkCondition(text: string, at: PathSegment[], visible: Set<string>): void {
    if (hasTemplate(text)) this.checkTemplates(text, at, visible);
    else this.checkExpression(text, at, visible);
  }

  private checkTemplates(value: unknown, at: PathSegment[], visible: Set<string>): void {
    if (typeof value === 'string') {
      for (const part of templateParts(value)) this.checkExpression(part.expr, at, visible, part.offset);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => this.checkTemplates(v, [...at, i], visible));
    } else if (isObj(value)) {
      for (const [k, v] of Object.entries(value)) this.checkTemplates(v, [...at, k], visible);
    }
  }

  private checkExpression(expr: string, at: PathSegment[], visible: Set<string>, offset = 0): void {
    const parsed = parseExpression(expr);
    if (!parsed.ok) {
      this.add(
        at,
        offset > 0 ? `${parsed.message} (expression starts at character ${offset})` : parsed.message,
      );
      return;
    }
    for (const ref of parsed.info.steps) {
      if (visible.has(ref)) continue;
      this.add(
        at,
        this.allIds.has(ref)
          ? `refers to step "${ref}", which does not run before this step`
          : `refers to unknown step "${ref}"`,
      );
    }
    for (const name of parsed.info.params) {
      if (!this.paramNames.has(name)) this.add(at, `refers to unknown parameter "${name}"`);
    }
  }

  private add(path: PathSegment[], message: string): void {
    this.problems.push({ path: formatPath(path), message });
  }
}

function collectIds(steps: unknown, into: Set<string>): void {
  if (!Array.isArray(steps)) return;
  for (const s of steps) {
    if (!isObj(s)) continue;
    if (typeof s.id === 'string') into.add(s.id);
    for (const key of ['then', 'else', 'do', 'try', 'catch', 'finally', 'fallback']) collectIds(s[key], into);
  }
}

function underTemplate(root: unknown, path: readonly PathSegment[]): boolean {
  let cur = root;
  for (const seg of path) {
    if (hasTemplate(cur)) return true;
    if (typeof cur !== 'object' || cur === null) return false;
    cur = (cur as Record<PathSegment, unknown>)[seg];
  }
  return hasTemplate(cur);
}
