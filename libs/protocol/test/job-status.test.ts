import { describe, expect, it } from 'vitest';
import {
  IllegalTransitionError,
  JOB_STATUSES,
  canTransition,
  isTerminal,
  reachableSourcesOf,
  sourcesOf,
  transition,
  type JobStatus,
} from '../src/index.ts';

const LEGAL: ReadonlyArray<[JobStatus, JobStatus]> = [
  ['queued', 'running'],
  ['queued', 'cancelling'],
  ['queued', 'cancelled'],
  ['running', 'completed'],
  ['running', 'failed'],
  ['running', 'cancelling'],
  ['cancelling', 'cancelled'],
  ['cancelling', 'completed'],
  ['cancelling', 'failed'],
];
const isLegal = (from: JobStatus, to: JobStatus) => LEGAL.some(([f, t]) => f === from && t === to);

describe('job state machine', () => {
  it('accepts every legal transition', () => {
    for (const [from, to] of LEGAL) expect(transition(from, to)).toBe(to);
  });

  it('refuses every other pair of statuses, naming both', () => {
    let refused = 0;
    for (const from of JOB_STATUSES) {
      for (const to of JOB_STATUSES) {
        if (isLegal(from, to)) continue;
        expect(canTransition(from, to)).toBe(false);
        expect(() => transition(from, to)).toThrow(IllegalTransitionError);
        expect(() => transition(from, to)).toThrow(`a job cannot go from ${from} to ${to}`);
        refused++;
      }
    }
    // 6 × 6 pairs minus the 9 legal ones
    expect(refused).toBe(27);
  });

  it('never leaves a terminal status', () => {
    for (const from of JOB_STATUSES.filter(isTerminal)) {
      for (const to of JOB_STATUSES) expect(canTransition(from, to)).toBe(false);
    }
  });

  it('lists the sources of a status for a conditional UPDATE', () => {
    expect(sourcesOf('running').sort()).toEqual(['queued']);
    expect(sourcesOf('cancelled').sort()).toEqual(['cancelling', 'queued']);
    expect(sourcesOf('completed').sort()).toEqual(['cancelling', 'running']);
    expect(sourcesOf('queued')).toEqual([]);
  });

  it('lets an out-of-order job.finished move a queued job along the legal path, never out of a terminal one', () => {
    expect(reachableSourcesOf('completed').sort()).toEqual(['cancelling', 'queued', 'running']);
    expect(reachableSourcesOf('failed').sort()).toEqual(['cancelling', 'queued', 'running']);
    expect(reachableSourcesOf('cancelled').sort()).toEqual(['cancelling', 'queued', 'running']);
  });
});
