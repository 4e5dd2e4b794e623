/** What the process exit status means, for scripts and CI that run flows. */
export const ExitCode = {
  /** The flow completed (possibly with record errors, which are listed). */
  completed: 0,
  /** The flow ran and failed. */
  failed: 1,
  /** Nothing ran: bad arguments, flow file, params or connections file. */
  invalidInput: 2,
  /** Cancelled with Ctrl-C (128 + SIGINT, as shells report it). */
  cancelled: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
