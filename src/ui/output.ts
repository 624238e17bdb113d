import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes to standard output synchronously (a big --json document reaches a pipe before exit).
 * A reader that went away (`| head`) is not an error: the rest is dropped, the exit status stays.
 */
export function writeOut(text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(1, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return;
      // A non-blocking pipe that is full: wait a moment for the reader.
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 5);
      else throw err;
    }
  }
}
