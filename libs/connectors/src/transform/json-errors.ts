/**
 * JSON.parse's message for a bad text, always with a position: V8 gives "at position N (line L
 * column C)" for most errors but not for a bad literal ("Unexpected token 'x', "..." is not valid
 * JSON", which also quotes the data) nor for a truncated text.
 */
export function jsonErrorText(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/ at position \d+/.test(message)) return message;
  const position = firstInvalidPosition(text);
  const reason = message.replace(/, ".*" is not valid JSON$/s, '');
  return `${reason} at position ${position} (${lineColumn(text, position)})`;
}

function lineColumn(text: string, position: number): string {
  let line = 1;
  let start = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return `line ${line} column ${position - start + 1}`;
}

/** Offset of the first character a JSON parser would reject (text.length when the text ends early). */
export function firstInvalidPosition(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new InvalidAt(i);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = (): void => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0].length === 0) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    return number();
  };
  try {
    value();
    ws();
    return i;
  } catch (e) {
    return e instanceof InvalidAt ? Math.min(e.position, text.length) : 0;
  }
}

class InvalidAt extends Error {
  readonly position: number;
  constructor(position: number) {
    super(`invalid JSON at ${position}`);
    this.position = position;
  }
}
