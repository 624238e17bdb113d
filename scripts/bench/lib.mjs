// Shared helpers for benchmark sections (scripts/bench/*.mjs).
import { spawnSync } from 'node:child_process';

/** Median wall time in milliseconds of running argv `runs` times (after one warm-up run). */
export function medianMs(argv, { runs = 15, env = process.env, warmup = 1 } = {}) {
  const [cmd, ...args] = argv;
  const times = [];
  for (let i = 0; i < runs + warmup; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.error) throw r.error;
    if (i >= warmup) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * Medians in milliseconds of several commands run in rounds (a, b, c, a, b, c, …) after one warm-up
 * round, so a change in the machine's load hits every command alike.
 */
export function interleavedMediansMs(argvs, { runs = 21, env = process.env } = {}) {
  const times = argvs.map(() => []);
  for (let i = 0; i <= runs; i++) {
    argvs.forEach(([cmd, ...args], j) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.error) throw r.error;
      if (i > 0) times[j].push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

export const fmt = (ms) => `${ms.toFixed(1)} ms`;
export const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
