/**
 * Code that runs inside the isolate, around the user's function. Only strings cross the
 * boundary: records go in as one JSON text per page, results come out as one JSON text per call.
 *
 * A context serves many step executions of the same script (see isolate-pool.ts), so the harness
 * ends by freezing the global object and every built-in reachable from it (as SES's lockdown
 * does): no script can leave anything behind for the next run, in a global or in a prototype.
 * Assigning to an inherited built-in name (`err.name = ...`, `obj.toString = ...`) still works:
 * those properties become accessors that define the value on the object itself. The harness
 * keeps its own references to JSON, Date and friends; the host re-checks every output. Nothing
 * here is a security boundary between the host and scripts: the isolate is.
 */

/** Name of the file in stack traces and syntax errors: messages point at `with.code`. */
export const USER_FILENAME = 'with.code';

/** Globals set by the host before the harness runs, deleted by it. */
export const HARNESS_INPUT = {
  progress: '__junctionProgress',
} as const;

/** The harness object the host calls into. */
export const HARNESS_GLOBAL = '__junction';

/** Wraps the user's code as a function body, installed into the harness by one call. */
export function userScriptSource(code: string, mode: 'perRecord' | 'perPage'): string {
  const first = mode === 'perRecord' ? 'record' : 'records';
  // The header sits on its own line (compiled with lineOffset -1) so positions match the user's lines.
  return `${HARNESS_GLOBAL}.install(function (${first}, params, steps) { 'use strict';\n${code}\n});`;
}

/** Limits of console output, per call into the isolate. */
export const LOG_LIMITS = { lines: 100, lineChars: 2000 } as const;

export const HARNESS_SOURCE = `(function () {
  'use strict';
  const g = globalThis;
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const now = Date.now;
  const isArray = Array.isArray;
  const freeze = Object.freeze;
  const keys = Object.keys;
  const defineProperty = Object.defineProperty;
  const StringOf = String;
  const locationRe = /with\\.code:(\\d+):(\\d+)/;
  const MAX_LINES = ${LOG_LIMITS.lines};
  const MAX_CHARS = ${LOG_LIMITS.lineChars};

  const progress = new Int32Array(g.${HARNESS_INPUT.progress});
  const deepFreeze = (v) => {
    if (v !== null && typeof v === 'object') {
      for (const k of keys(v)) deepFreeze(v[k]);
      freeze(v);
    }
    return v;
  };
  // isolated-vm's memory limit does not cover WebAssembly memories, resizable ArrayBuffers or
  // growable SharedArrayBuffers: each can commit gigabytes in the host process (and reserving
  // many exhausts its address space and aborts it). Scripts get neither: WebAssembly is removed
  // and both buffer constructors refuse the maxByteLength option. The original constructors stay
  // unreachable: the globals and the prototypes' \`constructor\` point at the wrappers.
  delete g.WebAssembly;
  const construct = Reflect.construct;
  for (const name of ['ArrayBuffer', 'SharedArrayBuffer']) {
    const Original = g[name];
    const proto = Original.prototype;
    const Safe = function (length, options) {
      if (new.target === undefined) throw new TypeError("Constructor " + name + " requires 'new'");
      // options are never passed on (so a Proxy cannot smuggle maxByteLength past this check)
      if (options !== undefined && options !== null && (typeof options === 'object' || typeof options === 'function') && 'maxByteLength' in options)
        throw new RangeError('resizable and growable buffers are not available in scripts');
      return construct(Original, [length], new.target === Safe ? Original : new.target);
    };
    defineProperty(Safe, 'prototype', { value: proto, writable: false, enumerable: false, configurable: false });
    if (Original.isView) defineProperty(Safe, 'isView', { value: Original.isView, writable: true, configurable: true });
    defineProperty(proto, 'constructor', { value: Safe, writable: false, enumerable: false, configurable: false });
    delete proto.resize;
    delete proto.grow;
    defineProperty(g, name, { value: Safe, writable: false, enumerable: false, configurable: false });
  }

  delete g.${HARNESS_INPUT.progress};
  // Legacy RegExp statics (RegExp.$1, lastMatch...) would carry the last match of one run into the next.
  for (const name of ['input', '$_', 'lastMatch', '$&', 'lastParen', '$+', 'leftContext', '$\x60', 'rightContext', "$'", '$1', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9'])
    delete g.RegExp[name];

  let params = freeze({});
  let steps = freeze({});

  let logs = [];
  let dropped = 0;
  const show = (v) => {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return StringOf(v.stack || v);
    try {
      const s = stringify(v);
      return s === undefined ? StringOf(v) : s;
    } catch (e) {
      return StringOf(v);
    }
  };
  const logger = (level) => function () {
    if (logs.length >= MAX_LINES) { dropped++; return; }
    let line = '';
    for (let i = 0; i < arguments.length; i++) line += (i > 0 ? ' ' : '') + show(arguments[i]);
    if (line.length > MAX_CHARS) line = line.slice(0, MAX_CHARS) + '…';
    logs.push([level, line]);
  };
  const console = freeze({
    log: logger('info'), info: logger('info'), debug: logger('debug'),
    warn: logger('warn'), error: logger('error'),
  });
  defineProperty(g, 'console', { value: console, writable: true, configurable: true, enumerable: false });

  const describe = (v) => v === null ? 'null' : isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : 'a ' + typeof v;
  // The first frame in the user's code; "eval at" origins are skipped (V8 does not apply the
  // line offset to them).
  const locate = (stack) => {
    for (const line of stack.split('\\n')) {
      if (line.indexOf('eval at') >= 0) continue;
      const m = locationRe.exec(line);
      if (m) return m;
    }
    return null;
  };
  const errorText = (e) => {
    if (e instanceof Error || (e !== null && typeof e === 'object' && typeof e.message === 'string')) {
      const name = typeof e.name === 'string' && e.name ? e.name + ': ' : '';
      const at = typeof e.stack === 'string' ? locate(e.stack) : null;
      return name + e.message + (at ? ' (line ' + at[1] + ', column ' + at[2] + ')' : '');
    }
    return 'the script threw ' + show(e);
  };
  const isRecord = (v) => v !== null && typeof v === 'object' && !isArray(v);
  const isThenable = (v) => v !== null && typeof v === 'object' && typeof v.then === 'function';
  const takeLogs = () => {
    const out = '"logs":' + stringify(logs) + ',"dropped":' + dropped;
    logs = [];
    dropped = 0;
    logMark = 0;
    droppedMark = 0;
    return out;
  };

  let fn;
  let records = [];
  let finished = [];
  // The console lines there were when the record being run started: rewind() drops the lines of
  // a run the host cut short to run it again.
  let logMark = 0;
  let droppedMark = 0;

  // One record's outcome: [index, 0, records] | [index, 1, message] | [index, 2] (ignored).
  // Results are turned into JSON once per call, not per record; see collect().
  const outcome = (i, value) => {
    if (value === undefined || value === null) return [i, 2];
    if (isThenable(value))
      return [i, 1, 'the script returned a Promise: scripts run synchronously (they have no I/O to wait for)'];
    const list = isArray(value) ? value : [value];
    for (let j = 0; j < list.length; j++) {
      if (!isRecord(list[j])) {
        const what = isArray(value) ? 'an array holding ' + describe(list[j]) + ' at [' + j + ']' : describe(value);
        return [i, 1, 'the script must return an object, an array of objects, or null to skip the record; it returned ' + what];
      }
    }
    return [i, 0, list];
  };
  // JSON of the outcomes; when one result is not JSON (a BigInt, a cycle) only that record fails.
  const outcomesJson = (list) => {
    try {
      return stringify(list);
    } catch (e) {
      let out = '[';
      for (let k = 0; k < list.length; k++) {
        let item;
        try {
          item = stringify(list[k]);
        } catch (err) {
          item = stringify([list[k][0], 1, 'the script returned a value that is not JSON: ' + errorText(err)]);
        }
        out += (k > 0 ? ',' : '') + item;
      }
      return out + ']';
    }
  };

  const harness = freeze({
    // The start of a step execution: its bindings, and nothing left from the one before.
    bind(paramsJson, stepsJson) {
      params = deepFreeze(parse(paramsJson));
      steps = deepFreeze(parse(stepsJson));
      records = [];
      finished = [];
      logs = [];
      dropped = 0;
      logMark = 0;
      droppedMark = 0;
    },
    install(f) {
      if (fn !== undefined) throw new Error('already installed');
      fn = f;
    },
    load(json) {
      records = parse(json);
      finished = [];
      return records.length;
    },
    // Runs records [start, end) until done or until half the budget is spent, then returns.
    run(start, end, budgetMs) {
      const started = now();
      finished = [];
      let i = start;
      for (; i < end; i++) {
        if (i > start && now() - started > budgetMs / 2) break;
        progress[0] = i;
        logMark = logs.length;
        droppedMark = dropped;
        let value;
        try {
          value = fn(records[i], params, steps);
        } catch (e) {
          finished.push([i, 1, errorText(e)]);
          continue;
        }
        finished.push(outcome(i, value));
      }
      progress[0] = i;
      return harness.collect(i);
    },
    // What a run finished before it was stopped (timeout), with the console lines so far.
    collect(next) {
      const out = '{"next":' + next + ',"outcomes":' + outcomesJson(finished) + ',' + takeLogs() + '}';
      finished = [];
      return out;
    },
    // Forgets the record at \`next\` and everything after it, with its console lines: the host
    // stopped the call there and runs that record again. Returns what finished before it.
    rewind(next) {
      const kept = [];
      for (let k = 0; k < finished.length; k++) if (finished[k][0] < next) kept.push(finished[k]);
      finished = kept;
      if (logs.length > logMark) logs.length = logMark;
      dropped = droppedMark;
      return harness.collect(next);
    },
    runPage() {
      logMark = logs.length;
      droppedMark = dropped;
      let value;
      try {
        value = fn(records, params, steps);
      } catch (e) {
        return '{"error":' + stringify(errorText(e)) + ',' + takeLogs() + '}';
      }
      let error;
      if (isThenable(value)) error = 'the script returned a Promise: scripts run synchronously (they have no I/O to wait for)';
      else if (!isArray(value)) error = 'in perPage mode the script must return an array of records; it returned ' + describe(value);
      else for (let j = 0; j < value.length && !error; j++)
        if (!isRecord(value[j])) error = 'the script returned an array holding ' + describe(value[j]) + ' at [' + j + ']; records must be objects';
      if (!error) {
        try {
          return '{"records":' + stringify(value) + ',' + takeLogs() + '}';
        } catch (e) {
          error = 'the script returned a value that is not JSON: ' + errorText(e);
        }
      }
      return '{"error":' + stringify(error) + ',' + takeLogs() + '}';
    },
    logs() {
      return '{' + takeLogs() + '}';
    },
  });
  defineProperty(g, '${HARNESS_GLOBAL}', { value: harness, writable: false, configurable: false, enumerable: false });

  // Lockdown. First, inherited names that scripts commonly assign on their own objects become
  // accessors whose setter defines the property on the object (frozen data properties would make
  // \x60this.name = 'MyError'\x60 throw: JavaScript's "override mistake").
  const getProto = Object.getPrototypeOf;
  const getDesc = Object.getOwnPropertyDescriptor;
  const ownKeys = Reflect.ownKeys;
  const overridable = (proto, names) => {
    for (const name of names) {
      const d = getDesc(proto, name);
      if (!d || !('value' in d) || !d.configurable) continue;
      const value = d.value;
      defineProperty(proto, name, {
        get() { return value; },
        set(v) {
          if (this === proto) throw new TypeError('Cannot assign to read only property ' + StringOf(name) + ' of a built-in prototype');
          defineProperty(this, name, { value: v, writable: true, enumerable: true, configurable: true });
        },
        enumerable: d.enumerable,
        configurable: false,
      });
    }
  };
  overridable(Object.prototype, ownKeys(Object.prototype).filter((k) => k !== '__proto__'));
  overridable(Function.prototype, ['constructor', 'toString']);
  overridable(Array.prototype, ['constructor', 'toString']);
  for (const E of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError])
    overridable(E.prototype, ['constructor', 'name', 'message', 'toString']);

  // Then freeze the global object and everything reachable from it, plus the intrinsics that no
  // global names (iterator and generator prototypes, %TypedArray%, %ThrowTypeError%...).
  const roots = [g];
  const hidden = [
    () => getProto(function* () {}),
    () => getProto(async function () {}),
    () => getProto(async function* () {}),
    () => getProto([][Symbol.iterator]()),
    () => getProto(new Map()[Symbol.iterator]()),
    () => getProto(new Set()[Symbol.iterator]()),
    () => getProto(''[Symbol.iterator]()),
    () => getProto(/a/[Symbol.matchAll]('a')),
    () => getProto([].values().map((x) => x)),
    () => getProto(g.Iterator.from({ next() { return { done: true }; } })),
    () => getProto(Uint8Array),
    () => getDesc((function () { 'use strict'; return arguments; })(), 'callee').get,
    () => getProto(new Intl.Segmenter().segment('a')),
    () => getProto(new Intl.Segmenter().segment('a')[Symbol.iterator]()),
  ];
  for (const find of hidden) {
    try { roots.push(find()); } catch (e) { /* not in this V8 */ }
  }
  const seen = new Set();
  while (roots.length > 0) {
    const o = roots.pop();
    if (o === null || o === undefined || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
    seen.add(o);
    freeze(o);
    roots.push(getProto(o));
    for (const k of ownKeys(o)) {
      const d = getDesc(o, k);
      if (!d) continue;
      if ('value' in d) roots.push(d.value);
      else roots.push(d.get, d.set);
    }
  }
})();`;
