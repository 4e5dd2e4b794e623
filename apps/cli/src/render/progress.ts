import type { RunEvent, StepLogEvent, StepStatus } from '@junction/protocol';
import type { OutputStream } from '../cli-io.ts';
import { fitWidth, formatCount, formatDuration, formatRate, oneLine } from './format.ts';
import { processed, type RunState, type StepView } from './run-state.ts';

/** Shows a run as it goes; the caller applies each event to the RunState first. */
export interface Progress {
  onEvent(event: RunEvent): void;
  /** A line of the runner's own (e.g. "cancelling…"), placed so a redraw does not garble it. */
  note(line: string): void;
  /** Stops redrawing and leaves the last state on screen. */
  close(): void;
}

export interface ProgressOptions {
  now?: () => number;
  /** Redraw period on a terminal. */
  intervalMs?: number;
  /** Least time between two progress lines of one step when not on a terminal. */
  plainEveryMs?: number;
}

/** A redrawn display on a terminal; plain lines (for logs and pipes) otherwise. */
export function createProgress(out: OutputStream, state: RunState, options: ProgressOptions = {}): Progress {
  return out.isTTY === true
    ? new TerminalProgress(out, state, options)
    : new PlainProgress(out, state, options);
}

const SYMBOL: Record<StepStatus, string> = { completed: '✓', failed: '✗', skipped: '–', cancelled: '■' };
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function records(n: number): string {
  return `${formatCount(n)} record${n === 1 ? '' : 's'}`;
}

function finishedLine(step: StepView): string {
  const status = step.status === 'running' ? 'completed' : step.status;
  const count = processed(step.stats);
  const parts = [
    `${'  '.repeat(step.depth)}${SYMBOL[status]} ${step.id}`,
    step.use ?? '',
    records(count),
    formatDuration(step.stats.durationMs),
  ];
  const rate = formatRate(count, step.stats.durationMs);
  if (rate !== '—') parts.push(`${rate}/s`);
  if (step.stats.errors > 0) parts.push(`${formatCount(step.stats.errors)} errors`);
  if (status !== 'completed') parts.push(status);
  const line = parts.filter((p) => p !== '').join('  ');
  return step.error ? `${line}: ${oneLine(step.error.message)}` : line;
}

function logLine(event: StepLogEvent): string | undefined {
  if (event.level === 'debug') return undefined;
  return `  [${event.level}]${event.stepId !== undefined ? ` ${event.stepId}:` : ''} ${oneLine(event.message)}`;
}

class TerminalProgress implements Progress {
  private readonly out: OutputStream;
  private readonly state: RunState;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private blockLines = 0;
  private frame = 0;
  private pending: string[] = [];
  /** Recent (time, records) samples per step, for a throughput that follows the current pace. */
  private readonly samples = new Map<string, Array<[number, number]>>();
  private closed = false;

  constructor(out: OutputStream, state: RunState, options: ProgressOptions) {
    this.out = out;
    this.state = state;
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.redraw(), options.intervalMs ?? 120);
    this.timer.unref();
  }

  onEvent(event: RunEvent): void {
    if (this.closed) return;
    switch (event.type) {
      case 'step.finished': {
        const step = this.state.steps.get(event.stepId);
        if (step) this.pending.push(finishedLine(step));
        this.samples.delete(event.stepId);
        this.redraw();
        return;
      }
      case 'step.log': {
        const line = logLine(event);
        if (line !== undefined) this.pending.push(line);
        return;
      }
      case 'step.stats':
        this.sample(event.stepId, processed(event.stats));
        return;
      case 'step.started':
        this.redraw();
        return;
      case 'job.started':
      case 'record.error':
      case 'job.finished':
        return;
    }
  }

  note(line: string): void {
    this.pending.push(line);
    this.redraw();
  }

  close(): void {
    if (this.closed) return;
    this.redraw();
    this.closed = true;
    clearInterval(this.timer);
  }

  private sample(stepId: string, count: number): void {
    const now = this.now();
    const list = this.samples.get(stepId) ?? [];
    list.push([now, count]);
    while (list.length > 2 && now - list[0][0] > 3000) list.shift();
    this.samples.set(stepId, list);
  }

  private rate(step: StepView): string {
    const list = this.samples.get(step.id);
    const now = this.now();
    if (list && list.length >= 2) {
      const [t0, c0] = list[0];
      const [t1, c1] = list[list.length - 1];
      if (t1 > t0) return `${formatRate(c1 - c0, t1 - t0)}/s`;
    }
    return `${formatRate(processed(step.stats), now - step.startedAt)}/s`;
  }

  private redraw(): void {
    if (this.closed) return;
    this.frame = (this.frame + 1) % SPINNER.length;
    const columns = this.out.columns;
    let text = this.blockLines > 0 ? `\x1b[${this.blockLines}F\x1b[J` : '';
    for (const line of this.pending) text += `${fitWidth(line, columns)}\n`;
    this.pending = [];
    const running = this.state.running();
    for (const step of running) {
      const line = [
        `${'  '.repeat(step.depth)}${SPINNER[this.frame]} ${step.id}`,
        step.use ?? '',
        records(processed(step.stats)),
        this.rate(step),
        formatDuration(this.now() - step.startedAt),
      ]
        .filter((p) => p !== '')
        .join('  ');
      text += `${fitWidth(line, columns)}\n`;
    }
    this.blockLines = running.length;
    if (text !== '') this.out.write(text);
  }
}

class PlainProgress implements Progress {
  private readonly out: OutputStream;
  private readonly state: RunState;
  private readonly now: () => number;
  private readonly every: number;
  private readonly lastPrinted = new Map<string, number>();

  constructor(out: OutputStream, state: RunState, options: ProgressOptions) {
    this.out = out;
    this.state = state;
    this.now = options.now ?? Date.now;
    this.every = options.plainEveryMs ?? 2000;
  }

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'step.started': {
        const step = this.state.steps.get(event.stepId);
        this.lastPrinted.set(event.stepId, this.now());
        this.out.write(
          `${'  '.repeat(step?.depth ?? 0)}▶ ${event.stepId}${event.use ? ` (${event.use})` : ''}\n`,
        );
        return;
      }
      case 'step.stats': {
        const now = this.now();
        if (now - (this.lastPrinted.get(event.stepId) ?? 0) < this.every) return;
        this.lastPrinted.set(event.stepId, now);
        const step = this.state.steps.get(event.stepId);
        const count = processed(event.stats);
        const rate = step ? formatRate(count, now - step.startedAt) : '—';
        this.out.write(
          `${'  '.repeat(step?.depth ?? 0)}  ${event.stepId}: ${records(count)}${rate === '—' ? '' : `, ${rate}/s`}\n`,
        );
        return;
      }
      case 'step.finished': {
        const step = this.state.steps.get(event.stepId);
        if (step) this.out.write(`${finishedLine(step)}\n`);
        return;
      }
      case 'step.log': {
        const line = logLine(event);
        if (line !== undefined) this.out.write(`${line}\n`);
        return;
      }
      case 'job.started':
      case 'record.error':
      case 'job.finished':
        return;
    }
  }

  note(line: string): void {
    this.out.write(`${line}\n`);
  }

  close(): void {}
}
