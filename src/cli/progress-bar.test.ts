import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { withProgressBar } from './progress-bar.js';

const SHOW_CURSOR = '\x1B[?25h';
const HIDE_CURSOR = '\x1B[?25l';

/** A stream that says it is a terminal, keeping what is written to it. */
function fakeTerminal(): { stream: NodeJS.WriteStream; written: () => string } {
  let written = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      written += chunk;
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns: 80 });
  return { stream, written: () => written };
}

describe('withProgressBar', () => {
  const options = { show: true, format: '{bar} {rows} rows', total: 10, payload: { rows: 0 } };

  it('stops the bar on Ctrl-C, then lets Ctrl-C end the process as it would without one', async () => {
    const terminal = fakeTerminal();
    const before = process.listeners('SIGINT');
    let interruptedWith = '';
    await withProgressBar(
      { ...options, stream: terminal.stream, interrupt: () => (interruptedWith = terminal.written()) },
      async (bar) => {
        bar?.update(3, { rows: 3 });
        const added = process.listeners('SIGINT').filter((listener) => !before.includes(listener));
        expect(added).toHaveLength(1);
        added[0]?.('SIGINT');
        // No longer listened to: the SIGINT sent again ends the process.
        expect(process.listeners('SIGINT')).toEqual(before);
      },
    );
    expect(interruptedWith).toContain(HIDE_CURSOR);
    expect(interruptedWith.slice(interruptedWith.lastIndexOf(HIDE_CURSOR))).toContain(SHOW_CURSOR);
    expect(interruptedWith).toMatch(/\n$/);
  });

  it('stops the bar when the work fails, and passes the error on', async () => {
    const terminal = fakeTerminal();
    const before = process.listeners('SIGINT');
    await expect(
      withProgressBar({ ...options, stream: terminal.stream }, async () => {
        throw new Error('the file is not UTF-8');
      }),
    ).rejects.toThrow('the file is not UTF-8');
    expect(terminal.written()).toContain(SHOW_CURSOR);
    expect(terminal.written()).toMatch(/\n$/);
    expect(process.listeners('SIGINT')).toEqual(before);
  });

  it('shows no bar for --json or where stderr is no terminal', async () => {
    const terminal = fakeTerminal();
    expect(
      await withProgressBar({ ...options, show: false, stream: terminal.stream }, async (bar) => bar),
    ).toBe(undefined);
    expect(terminal.written()).toBe('');
  });
});
