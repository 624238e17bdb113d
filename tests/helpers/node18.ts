import { existsSync } from 'node:fs';

/** The Node 18 binary scripts/test.mjs (npm test) fetched (scripts/node-bin.mjs), if any. */
export const NODE18 = process.env['TALOS_MAC_NODE18'] ?? '';

/** For node:test's `skip`: false when the binary is there, else why not. */
export const NODE18_SKIP: string | false = NODE18 && existsSync(NODE18) ? false : 'no Node 18 binary (npm test fetches one on x64 Linux: scripts/node-bin.mjs)';
