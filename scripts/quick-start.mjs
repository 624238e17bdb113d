// The README's Quick start commands, read from README.md at run time so that CI (.ci/run) and
// npm run test:fresh run exactly what a newcomer reads: the `sh` code blocks of the "## Quick start"
// section, one command each.
//   node scripts/quick-start.mjs N   prints command N (1-based); exit 1 when there is none
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The commands of README text `readme`, in order. */
export function quickStart(readme) {
  const start = readme.indexOf('\n## Quick start');
  if (start < 0) throw new Error('README.md has no "## Quick start" section');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readme = fileURLToPath(new URL('../README.md', import.meta.url));
  const commands = quickStart(readFileSync(readme, 'utf8'));
  const n = Number(process.argv[2]);
  if (commands.length !== 2 || !(n >= 1 && n <= commands.length)) {
    console.error(`README.md's Quick start has ${commands.length} sh blocks (two expected); asked for ${process.argv[2]}`);
    process.exit(1);
  }
  console.log(commands[n - 1]);
}
