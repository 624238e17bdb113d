import { writeSync } from 'node:fs';
import { wrapText } from './wrap.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

function writeFd(fd: 1 | 2, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return;
      // A non-blocking pipe that is full: wait a moment for the reader.
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 5);
      else throw err;
    }
  }
}

/**
 * Writes to standard output synchronously and as it is (a --json document, a command to copy, a
 * guest's console): a big document reaches a pipe before exit. A reader that went away (`| head`)
 * is not an error: the rest is dropped, the exit status stays.
 */
export function writeOut(text: string): void {
  writeFd(1, text);
}

/**
 * The width text is wrapped to: the terminal's; 0 (no wrapping) when the stream is not a terminal,
 * so a pipe or a file gets each line whole, and on a terminal that reports no width (some
 * pseudo-terminals say 0×0), where any guess could be wrong.
 */
export function terminalWidth(stream: NodeJS.WriteStream): number {
  return stream.isTTY ? (stream.columns ?? 0) : 0;
}

/** Text for a person on standard output: every line wrapped at the terminal's width (src/ui/wrap.ts). */
export function writeText(text: string): void {
  writeFd(1, wrapText(text, terminalWidth(process.stdout)));
}

/** The same on standard error: messages, refusals, a launch's summary (stdout may be a guest's console). */
export function writeErrText(text: string): void {
  writeFd(2, wrapText(text, terminalWidth(process.stderr)));
}
