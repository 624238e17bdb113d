import type { ChalkInstance } from 'chalk';

/** Colour only on a terminal, never with NO_COLOR (https://no-color.org), forced by FORCE_COLOR. */
export function colorLevel(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): 0 | 1 | 2 | 3 {
  if ('NO_COLOR' in env && env['NO_COLOR'] !== '') return 0;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return 1;
  return stream.isTTY ? 1 : 0;
}

export async function makeChalk(stream: NodeJS.WriteStream = process.stdout): Promise<ChalkInstance> {
  const { Chalk } = await import('chalk');
  return new Chalk({ level: colorLevel(stream) });
}
