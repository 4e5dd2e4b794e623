/**
 * JSONata's own semantics for the few functions and operators the fast path compiles to
 * JavaScript, copied so both paths agree (a differential test holds them to it).
 */

/** JSONata's $round: half to even, with an optional decimal precision. */
export function jsonataRound(arg: number, precision = 0): number {
  let value = arg;
  if (precision) {
    const [m, e] = value.toString().split('e');
    value = +`${m}e${e ? +e + precision : precision}`;
  }
  let result = Math.round(value);
  const diff = result - value;
  if (Math.abs(diff) === 0.5 && Math.abs(result % 2) === 1) result -= 1;
  if (precision) {
    const [m, e] = result.toString().split('e');
    result = +`${m}e${e ? +e - precision : -precision}`;
  }
  return Object.is(result, -0) ? 0 : result;
}

/** JSONata's $string for primitives: numbers to 15 significant digits. */
export function jsonataString(value: string | number | boolean | null): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return JSON.stringify(Number(value.toPrecision(15)));
  return JSON.stringify(value);
}

export function isPrimitive(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}
