// Shared helpers for benchmark sections (scripts/bench/*.mjs).
import { spawnSync } from 'node:child_process';

/** Median wall time in milliseconds of running argv `runs` times (after `warmup` runs). */
export const medianMs = (argv, { runs = 15, env = process.env, warmup = 1 } = {}) => interleavedMediansMs([argv], { runs, env, warmup })[0];

/**
 * Medians in milliseconds of several commands run in rounds (a, b, c, a, b, c, …) after `warmup`
 * rounds, so a change in the machine's load hits every command alike.
 */
export function interleavedMediansMs(argvs, { runs = 21, env = process.env, warmup = 1 } = {}) {
  const times = argvs.map(() => []);
  for (let i = 0; i < warmup + runs; i++) {
    argvs.forEach(([cmd, ...args], j) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.error) throw r.error;
      if (i >= warmup) times[j].push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

export const fmt = (ms) => `${ms.toFixed(1)} ms`;
export const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
