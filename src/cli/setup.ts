import type { SetupOptions } from '../setup/setup.js';

export type { SetupOptions };

export async function setupCommand(opts: SetupOptions): Promise<number> {
  const [{ runSetup }, { makeChalk }, { writeOut, writeText, writeErrText }] = await Promise.all([
    import('../setup/setup.js'),
    import('../ui/color.js'),
    import('../ui/output.js'),
  ]);
  // With --json, standard output holds the one document; the running commentary goes to standard error.
  // On a terminal, lines wrap to its width (the one renderer: src/ui/output.ts).
  const text = opts.json ? writeErrText : writeText;
  return runSetup(opts, {
    out: (line) => text(`${line}\n`),
    json: writeOut,
    // A terminal that reports no width (some pseudo-terminals) gets plain lines.
    live: Boolean(process.stdout.isTTY) && (process.stdout.columns ?? 0) > 0 && !opts.json,
    interactive: Boolean(process.stdin.isTTY),
    env: process.env,
    uid: process.getuid?.() ?? 0,
    chalk: await makeChalk(),
  });
}
