import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/**
 * A Node built-in loaded on first use rather than at start-up: node:crypto and node:zlib cost a few
 * milliseconds each to load, and `doctor` runs modules that need them only to change something
 * (npm run bench, the start-up section).
 */
export const builtin = {
  crypto: (): typeof import('node:crypto') => load('node:crypto') as typeof import('node:crypto'),
  zlib: (): typeof import('node:zlib') => load('node:zlib') as typeof import('node:zlib'),
};
