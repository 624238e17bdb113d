import { homedir } from 'node:os';

/**
 * A path as a person typed it: `~` and `~/x` are the home folder, as a shell would have made them
 * (a quoted `"~/x"` or a value after `--opt=` reaches us unexpanded). `~user` is left alone.
 */
export function expandHome(path: string, env: NodeJS.ProcessEnv = process.env): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  return (env['HOME'] || homedir()) + path.slice(1);
}
