import { writeSync } from 'node:fs';
import type { SetupOptions } from '../setup/setup.js';

export type { SetupOptions };

export async function setupCommand(opts: SetupOptions): Promise<number> {
  const [{ runSetup }, { makeChalk }, { writeOut }, { wrapLine }] = await Promise.all([
    import('../setup/setup.js'),
    import('../ui/color.js'),
    import('../ui/output.js'),
    import('../ui/wrap.js'),
  ]);
  // With --json, standard output holds the one document; the running commentary goes to standard error.
  const fd = opts.json ? 2 : 1;
  const stream = opts.json ? process.stderr : process.stdout;
  // On a terminal, lines wrap to its width (at spaces: words and paths are never split).
  const width = stream.isTTY ? (stream.columns ?? 0) : 0;
  return runSetup(opts, {
    out: (line) => writeSync(fd, `${line.split('\n').flatMap((l) => wrapLine(l, width)).join('\n')}\n`),
    json: writeOut,
    // A terminal that reports no width (some pseudo-terminals) gets plain lines.
    live: Boolean(process.stdout.isTTY) && (process.stdout.columns ?? 0) > 0 && !opts.json,
    interactive: Boolean(process.stdin.isTTY),
    env: process.env,
    uid: process.getuid?.() ?? 0,
    chalk: await makeChalk(),
  });
}
