import { isPrimitive, jsonataRound, jsonataString } from './jsonata-semantics.ts';

/**
 * Compiles the common subset of JSONata (paths, literals, arithmetic, comparison, string
 * concatenation, conditionals and a few string/number functions) to a JavaScript closure: a
 * plain map runs at millions of rows/s this way instead of tens of thousands.
 * Whenever a value falls outside what the closure handles exactly like JSONata (arrays,
 * non-numbers in arithmetic, ...) it returns BAIL and the caller evaluates with JSONata.
 */
export const BAIL: unique symbol = Symbol('bail');
export type FastFn = (input: Readonly<Record<string, unknown>>) => unknown;

interface Node {
  type: string;
  value?: unknown;
  steps?: Node[];
  lhs?: Node;
  rhs?: Node;
  expression?: Node;
  condition?: Node;
  then?: Node;
  else?: Node;
  procedure?: Node;
  arguments?: Node[];
  [key: string]: unknown;
}

/** Returns a closure for the expression, or undefined when it uses anything outside the subset. */
export function compileFastPath(ast: unknown): FastFn | undefined {
  try {
    return compile(ast as Node);
  } catch (e) {
    if (e === UNSUPPORTED) return undefined;
    throw e;
  }
}

const UNSUPPORTED = new Error('unsupported');
const NAV_EXTRAS = ['stages', 'predicate', 'group', 'focus', 'tuple', 'index', 'keepArray', 'ancestor'];

function compile(node: Node): FastFn {
  switch (node.type) {
    case 'string':
    case 'number':
    case 'value': {
      const v = node.value;
      return () => v;
    }
    case 'path':
      return compilePath(node.steps ?? []);
    case 'name':
      return compilePath([node]);
    case 'unary':
      if (node.value === '-' && node.expression) {
        const e = compile(node.expression);
        return (i) => {
          const v = e(i);
          if (v === undefined) return undefined;
          return typeof v === 'number' ? -v : BAIL;
        };
      }
      throw UNSUPPORTED;
    case 'binary':
      return compileBinary(node);
    case 'condition': {
      if (!node.condition || !node.then) throw UNSUPPORTED;
      const c = compile(node.condition);
      const t = compile(node.then);
      const f = node.else ? compile(node.else) : () => undefined;
      return (i) => {
        const v = c(i);
        if (v === BAIL) return BAIL;
        if (typeof v !== 'boolean' && v !== undefined) return BAIL;
        return v === true ? t(i) : f(i);
      };
    }
    case 'function':
      return compileCall(node);
    default:
      throw UNSUPPORTED;
  }
}

function compilePath(steps: Node[]): FastFn {
  const names: string[] = [];
  for (const s of steps) {
    if (s.type !== 'name' || typeof s.value !== 'string') throw UNSUPPORTED;
    if (NAV_EXTRAS.some((k) => s[k] !== undefined)) throw UNSUPPORTED;
    names.push(s.value);
  }
  return (input) => {
    let cur: unknown = input;
    for (const name of names) {
      if (cur === undefined || cur === null) return undefined;
      if (typeof cur !== 'object' || Array.isArray(cur)) return BAIL;
      cur = (cur as Record<string, unknown>)[name];
    }
    // JSONata's sequence rules apply to arrays and functions: leave those to it
    if (Array.isArray(cur) || typeof cur === 'function') return BAIL;
    return cur;
  };
}

function compileBinary(node: Node): FastFn {
  if (!node.lhs || !node.rhs) throw UNSUPPORTED;
  const l = compile(node.lhs);
  const r = compile(node.rhs);
  const op = node.value;
  switch (op) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
      return (i) => {
        const a = l(i);
        const b = r(i);
        if (a === BAIL || b === BAIL) return BAIL;
        if (a === undefined || b === undefined) return undefined;
        if (typeof a !== 'number' || typeof b !== 'number') return BAIL;
        const v = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
        return Number.isFinite(v) ? v : BAIL;
      };
    case '&':
      return (i) => {
        const a = l(i);
        const b = r(i);
        if (a === BAIL || b === BAIL) return BAIL;
        if ((a !== undefined && !isPrimitive(a)) || (b !== undefined && !isPrimitive(b))) return BAIL;
        return (a === undefined ? '' : jsonataString(a)) + (b === undefined ? '' : jsonataString(b));
      };
    case '=':
    case '!=':
      return (i) => {
        const a = l(i);
        const b = r(i);
        if (a === BAIL || b === BAIL) return BAIL;
        if ((a !== undefined && !isPrimitive(a)) || (b !== undefined && !isPrimitive(b))) return BAIL;
        if (a === undefined || b === undefined) return false;
        return op === '=' ? a === b : a !== b;
      };
    case '<':
    case '<=':
    case '>':
    case '>=':
      return (i) => {
        const a = l(i);
        const b = r(i);
        if (a === BAIL || b === BAIL) return BAIL;
        if (a === undefined || b === undefined) return false;
        const bothNum = typeof a === 'number' && typeof b === 'number';
        const bothStr = typeof a === 'string' && typeof b === 'string';
        if (!bothNum && !bothStr) return BAIL;
        const x = a as number;
        const y = b as number;
        return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
      };
    case 'and':
    case 'or':
      return (i) => {
        const a = l(i);
        if (a === BAIL || (typeof a !== 'boolean' && a !== undefined)) return BAIL;
        const av = a === true;
        if (op === 'and' && !av) return false;
        if (op === 'or' && av) return true;
        const b = r(i);
        if (b === BAIL || (typeof b !== 'boolean' && b !== undefined)) return BAIL;
        return b === true;
      };
    default:
      throw UNSUPPORTED;
  }
}

type Fn1 = (v: unknown) => unknown;
const UNARY: Record<string, Fn1> = {
  uppercase: (v) => (typeof v === 'string' ? v.toUpperCase() : BAIL),
  lowercase: (v) => (typeof v === 'string' ? v.toLowerCase() : BAIL),
  trim: (v) => (typeof v === 'string' ? trimLikeJsonata(v) : BAIL),
  string: (v) => (isPrimitive(v) && (typeof v !== 'number' || Number.isFinite(v)) ? jsonataString(v) : BAIL),
  number: (v) => {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^-?(0|[1-9]\d*)(\.\d+)?([Ee][-+]?\d+)?$/.test(v)) return Number(v);
    return BAIL;
  },
  floor: (v) => (typeof v === 'number' ? Math.floor(v) : BAIL),
  ceil: (v) => (typeof v === 'number' ? Math.ceil(v) : BAIL),
  abs: (v) => (typeof v === 'number' ? Math.abs(v) : BAIL),
  length: (v) => (typeof v === 'string' ? Array.from(v).length : BAIL),
};

function compileCall(node: Node): FastFn {
  const proc = node.procedure;
  const args = node.arguments ?? [];
  if (!proc || proc.type !== 'variable' || typeof proc.value !== 'string') throw UNSUPPORTED;
  const name = proc.value;
  if (name === 'exists' && args.length === 1) {
    const a = compile(args[0]);
    return (i) => {
      const v = a(i);
      return v === BAIL ? BAIL : v !== undefined;
    };
  }
  if (name === 'round' && (args.length === 1 || args.length === 2)) {
    const a = compile(args[0]);
    const p = args.length === 2 ? compile(args[1]) : () => 0;
    return (i) => {
      const v = a(i);
      const prec = p(i);
      if (v === BAIL || prec === BAIL) return BAIL;
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || typeof prec !== 'number' || !Number.isInteger(prec)) return BAIL;
      return jsonataRound(v, prec);
    };
  }
  const fn = UNARY[name];
  if (!fn || args.length !== 1) throw UNSUPPORTED;
  const a = compile(args[0]);
  return (i) => {
    const v = a(i);
    if (v === BAIL) return BAIL;
    if (v === undefined) return undefined;
    return fn(v);
  };
}

function trimLikeJsonata(s: string): string {
  let out = s.replace(/[ \t\n\r]+/gm, ' ');
  if (out.startsWith(' ')) out = out.slice(1);
  if (out.endsWith(' ')) out = out.slice(0, -1);
  return out;
}
