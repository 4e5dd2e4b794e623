import { readdirSync, readFileSync } from 'node:fs';

/** Polls /proc/<pid>/status for VmHWM (the kernel's peak resident set size of the process), in kB. */
export function watchPeakRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = 0;
  const read = (): void => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const m = /VmHWM:\s+(\d+) kB/.exec(status) ?? /VmRSS:\s+(\d+) kB/.exec(status);
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // the process is gone
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    stop() {
      read();
      clearInterval(timer);
      return peak;
    },
  };
}

/** CPU seconds (user + system) a process has used so far; 0 where /proc is missing. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the command)
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds used so far by every process whose command name is `comm` (e.g. postgres,
 * redis-server), including children they have reaped (PostgreSQL's ended backends); 0 without /proc.
 */
export function commandCpuSeconds(comm: string): number {
  let ticks = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return 0;
  }
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== comm) continue;
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      // utime, stime, cutime, cstime: fields 14–17 of the line (11–14 after the command)
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
}
