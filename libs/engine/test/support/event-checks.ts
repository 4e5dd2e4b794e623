import type { RunEvent } from '@junction/protocol';

/**
 * Checks the grammar of a run's events: job.started first, job.finished last and once; every
 * step.started is followed by exactly one step.finished of that step; step.stats and
 * record.error of a step only while it runs; a step.finished without a step.started is a skip.
 * Returns the problems found (empty when well-formed).
 */
export function eventProblems(events: readonly RunEvent[]): string[] {
  const problems: string[] = [];
  if (events[0]?.type !== 'job.started') problems.push('the first event is not job.started');
  const last = events.at(-1);
  if (last?.type !== 'job.finished') problems.push('the last event is not job.finished');
  if (events.filter((e) => e.type === 'job.finished').length !== 1)
    problems.push('job.finished is not emitted once');
  if (events.filter((e) => e.type === 'job.started').length !== 1)
    problems.push('job.started is not emitted once');
  const running = new Set<string>();
  let previousAt = 0;
  events.forEach((e, i) => {
    if (e.at < previousAt) problems.push(`event ${i} (${e.type}) goes back in time`);
    previousAt = e.at;
    switch (e.type) {
      case 'step.started':
        if (running.has(e.stepId)) problems.push(`step ${e.stepId} started twice without finishing`);
        running.add(e.stepId);
        break;
      case 'step.finished':
        if (!running.delete(e.stepId) && e.status !== 'skipped') {
          problems.push(`step ${e.stepId} finished (${e.status}) without starting`);
        }
        break;
      case 'step.stats':
      case 'record.error':
        if (!running.has(e.stepId)) problems.push(`${e.type} for step ${e.stepId}, which is not running`);
        break;
      case 'job.started':
      case 'job.finished':
      case 'step.log':
        break;
    }
  });
  for (const id of running) problems.push(`step ${id} never finished`);
  return problems;
}
