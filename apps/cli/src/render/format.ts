// Made on first use: creating it costs ~25 ms of start-up, and `run --json` never formats.
let integer: Intl.NumberFormat | undefined;

export function formatCount(n: number): string {
  integer ??= new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  return integer.format(n);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
}

/** Records per second, or "—" when too few records in too little time make it meaningless. */
export function formatRate(records: number, ms: number): string {
  if (ms <= 0 || records === 0 || (records < 100 && ms < 1000)) return '—';
  return formatCount((records * 1000) / ms);
}

/** Pads cells into aligned columns; `right` lists the columns aligned right (numbers). */
export function formatTable(
  header: readonly string[],
  rows: readonly string[][],
  right: ReadonlySet<number>,
): string[] {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? pad(c, widths[i], 'start') : pad(c, widths[i], 'end')))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)];
}

function width(text: string): number {
  return [...text].length;
}

function pad(text: string, to: number, side: 'start' | 'end'): string {
  const fill = ' '.repeat(Math.max(0, to - width(text)));
  return side === 'start' ? fill + text : text + fill;
}

/** Cuts a line to the terminal width so a redraw never wraps (wrapping breaks cursor moves). */
export function fitWidth(text: string, columns: number | undefined): string {
  if (columns === undefined || columns <= 1) return text;
  const chars = [...text];
  return chars.length < columns ? text : `${chars.slice(0, columns - 2).join('')}…`;
}

/** One line of a message: the first, cut at 300 characters. */
export function oneLine(message: string): string {
  const first = message.split('\n')[0];
  return first.length > 300 ? `${first.slice(0, 300)}…` : first;
}
