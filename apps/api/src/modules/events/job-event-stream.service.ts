import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isTerminal, type LiveEventMessage, type RunEvent } from '@junction/protocol';
import { JobsRepository, type JobRow, type StoredEventRow } from '../jobs/jobs.repository.ts';
import { JobsService } from '../jobs/jobs.service.ts';
import { LiveEventsService } from './live-events.service.ts';

const REPLAY_PAGE = 1_000;
const HEARTBEAT_MS = 15_000;
/** How often a stream checks the job row, for endings no worker reported (a lost worker). */
const STATUS_CHECK_MS = 3_000;

/**
 * One SSE stream: subscribe to live events first (buffering them), replay what is stored after
 * Last-Event-ID, then pass live events on, skipping any already sent. Ids are the events' numbers
 * within the job, so a client that reconnects continues exactly where it stopped.
 */
@Injectable()
export class JobEventStreamService {
  private readonly repo: JobsRepository;
  private readonly jobs: JobsService;
  private readonly live: LiveEventsService;

  constructor(repo: JobsRepository, jobs: JobsService, live: LiveEventsService) {
    this.repo = repo;
    this.jobs = jobs;
    this.live = live;
  }

  async stream(jobId: string, lastEventId: string | undefined, reply: FastifyReply): Promise<void> {
    const job = await this.jobs.find(jobId);
    let last = parseEventId(lastEventId);
    const raw = reply.raw;

    let replaying = true;
    let ended = false;
    const buffered: LiveEventMessage[] = [];
    const timers: NodeJS.Timeout[] = [];
    let unsubscribe: () => void = () => undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      for (const t of timers) clearInterval(t);
      unsubscribe();
      raw.end();
    };
    const send = (seq: number, event: RunEvent) => {
      if (ended || seq <= last) return;
      last = seq;
      raw.write(`id: ${seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      if (event.type === 'job.finished') end();
    };

    unsubscribe = await this.live.subscribe(jobId, (messages) => {
      if (replaying) buffered.push(...messages);
      else for (const m of messages) send(m.seq, m.event);
    });

    const first = await this.repo.eventsAfter(jobId, String(last), REPLAY_PAGE);
    if (first.length === 0 && isTerminal(job.status) && last > 0) {
      // everything was seen: 204 tells EventSource not to reconnect
      unsubscribe();
      await reply.status(204).send();
      return;
    }
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n\n');
    raw.on('close', end);

    const replay = async (page: StoredEventRow[]) => {
      for (;;) {
        for (const row of page) send(Number(row.seq), toRunEvent(row));
        if (ended || page.length < REPLAY_PAGE) return;
        page = await this.repo.eventsAfter(jobId, String(last), REPLAY_PAGE);
      }
    };
    await replay(first);
    replaying = false;
    buffered.sort((a, b) => a.seq - b.seq);
    for (const m of buffered.splice(0)) send(m.seq, m.event);

    /**
     * A finished job: what is stored (its job.finished is committed with its status) is sent; if
     * no job.finished came (its worker was lost and the reconciler ended it), an event without an
     * id says how it ended. Then the stream closes.
     */
    const endIfFinished = async () => {
      const row = await this.repo.find(jobId);
      if (ended || !row || !isTerminal(row.status)) return;
      await replay(await this.repo.eventsAfter(jobId, String(last), REPLAY_PAGE));
      if (ended) return;
      raw.write(`event: job.finished\ndata: ${JSON.stringify(finishedFromRow(row))}\n\n`);
      end();
    };
    await endIfFinished();
    if (ended) return;
    timers.push(setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS));
    timers.push(setInterval(() => void endIfFinished().catch(() => undefined), STATUS_CHECK_MS));
  }
}

function toRunEvent(row: StoredEventRow): RunEvent {
  return { ...row.data, type: row.type, at: row.at.getTime() } as RunEvent;
}

function finishedFromRow(row: JobRow): RunEvent {
  return {
    type: 'job.finished',
    at: (row.finished_at ?? new Date()).getTime(),
    status: row.status === 'completed' ? 'completed' : row.status === 'cancelled' ? 'cancelled' : 'failed',
    ...(row.error ? { error: row.error } : {}),
    stats: row.stats,
    errorCount: row.error_count,
    durationMs: row.finished_at && row.started_at ? row.finished_at.getTime() - row.started_at.getTime() : 0,
  };
}

function parseEventId(text: string | undefined): number {
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return 0;
  return Number(text.trim());
}
