import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where downloads and built images are kept between runs ($TALOS_E2E_CACHE, else the XDG cache). */
export function cacheRoot(): string {
  if (process.env.TALOS_E2E_CACHE) return process.env.TALOS_E2E_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'talos-mac-e2e');
}

export function log(message: string): void {
  process.stderr.write(`[power9] ${message}\n`);
}

/** Runs fn and prints how long it took. */
export async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}
