type Parser = (text: string) => unknown;

const ZERO = 0x30;

/**
 * A parser for PostgreSQL `timestamptz` (withZone) or `timestamp` text that gives the very Date
 * pg's own parser (postgres-date) gives, without its regular expressions: those allocate a match
 * array and nine strings per value, a large share of all the garbage a table copy makes. Only
 * the shape the server prints with the default DateStyle (ISO) and a four-digit year from 1000
 * is read here; anything else (BC, infinity, other DateStyles, years outside 1000–9999) goes to
 * `fallback`, pg's parser.
 */
export function fastTimestampParser(withZone: boolean, fallback: Parser): Parser {
  return (text: string) => {
    const date = withZone ? parseTimestamptz(text) : parseTimestamp(text);
    return date ?? fallback(text);
  };
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` then a zone `±HH[:MM[:SS]]`, or undefined. */
function parseTimestamptz(text: string): Date | undefined {
  const end = fractionEnd(text);
  if (end < 0) return undefined;
  const zone = zoneOffsetMs(text, end);
  if (zone === undefined) return undefined;
  const utc = Date.UTC(
    digits(text, 0, 4),
    digits(text, 5, 2) - 1,
    digits(text, 8, 2),
    digits(text, 11, 2),
    digits(text, 14, 2),
    digits(text, 17, 2),
    millis(text, end),
  );
  return new Date(utc - zone);
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` and nothing after it (local time, as pg reads it), or undefined. */
function parseTimestamp(text: string): Date | undefined {
  const end = fractionEnd(text);
  if (end !== text.length) return undefined;
  return new Date(
    digits(text, 0, 4),
    digits(text, 5, 2) - 1,
    digits(text, 8, 2),
    digits(text, 11, 2),
    digits(text, 14, 2),
    digits(text, 17, 2),
    millis(text, end),
  );
}

/**
 * Checks `YYYY-MM-DD HH:MM:SS` (year 1000–9999) and an optional `.digits`; returns the index
 * after them, or -1.
 */
function fractionEnd(text: string): number {
  if (text.length < 19) return -1;
  for (let i = 0; i < 19; i++) {
    const c = text.charCodeAt(i);
    const expected = i === 4 || i === 7 ? 0x2d : i === 10 ? 0x20 : i === 13 || i === 16 ? 0x3a : -1;
    if (expected >= 0 ? c !== expected : c < ZERO || c > ZERO + 9) return -1;
  }
  if (text.charCodeAt(0) === ZERO) return -1;
  let i = 19;
  if (text.charCodeAt(i) === 0x2e) {
    i++;
    const first = i;
    while (isDigit(text.charCodeAt(i))) i++;
    if (i === first) return -1;
  }
  return i;
}

/** The zone after `start`: `+HH`, `-HH:MM`, `+HH:MM:SS`, to the end of the text, as ms east of UTC. */
function zoneOffsetMs(text: string, start: number): number | undefined {
  const sign = text.charCodeAt(start);
  if (sign !== 0x2b && sign !== 0x2d) return undefined;
  let seconds = 0;
  let i = start + 1;
  // hours, then minutes and seconds if given, each two digits
  for (let unit = 3600; unit >= 1; unit /= 60) {
    if (unit < 3600) {
      if (i === text.length) break;
      if (text.charCodeAt(i) !== 0x3a) return undefined;
      i++;
    }
    if (!isDigit(text.charCodeAt(i)) || !isDigit(text.charCodeAt(i + 1))) return undefined;
    seconds += digits(text, i, 2) * unit;
    i += 2;
  }
  if (i !== text.length) return undefined;
  return (sign === 0x2d ? -seconds : seconds) * 1000;
}

/** Exact powers of ten, for fractions of up to 15 digits. */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Milliseconds as postgres-date computes them, 1000 × parseFloat(".ffffff"), for the same Date.
 * The fraction's digits over a power of ten is that very double (both are the correctly rounded
 * quotient), without making a string.
 */
function millis(text: string, end: number): number {
  const count = end - 20;
  if (count <= 0) return 0;
  if (count >= POW10.length) return 1000 * parseFloat(text.slice(19, end));
  return 1000 * (digits(text, 20, count) / POW10[count]);
}

function digits(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) n = n * 10 + (text.charCodeAt(i) - ZERO);
  return n;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= ZERO + 9;
}
