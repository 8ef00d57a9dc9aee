import { SingleBar } from 'cli-progress';

/** What a command's work tells its progress bar. */
export interface ProgressBar {
  setTotal(total: number): void;
  update(value: number, payload?: object): void;
}

/**
 * Runs `work` with a progress bar on stderr, when it is a terminal and `show` (not --json); `work`
 * gets undefined otherwise. The bar hides the cursor and turns line wrap off while it runs: however
 * the work ends (an error, Ctrl-C), the bar is stopped, giving them back and ending its line, so an
 * error printed next starts on a line of its own.
 *
 * @example
 * const summary = await withProgressBar({ show: !options.json, format: '{bar} {rows} rows', total: 1, payload: { rows: 0 } },
 *   (bar) => importRows({ onProgress: (p) => bar?.update(p.bytesRead, p) }));
 */
export async function withProgressBar<T>(
  options: {
    show: boolean;
    format: string;
    total: number;
    payload: object;
    stream?: NodeJS.WriteStream;
    /** What Ctrl-C goes on to do once the bar is stopped; by default, what it does without one: end the process. */
    interrupt?: () => void;
  },
  work: (bar: ProgressBar | undefined) => Promise<T>,
): Promise<T> {
  const stream = options.stream ?? process.stderr;
  if (!options.show || !stream.isTTY) return work(undefined);
  const bar = new SingleBar({ format: options.format, stream, hideCursor: true });
  const interrupt = options.interrupt ?? (() => process.kill(process.pid, 'SIGINT'));
  const onInterrupt = () => {
    bar.stop();
    // Listened to, SIGINT no longer ends the process: sent again without the listener, it does.
    process.removeListener('SIGINT', onInterrupt);
    interrupt();
  };
  process.on('SIGINT', onInterrupt);
  bar.start(options.total, 0, options.payload);
  try {
    return await work(bar);
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    bar.stop();
  }
}
