import type { ExitMeaning } from '../exit-codes.js';

/**
 * What a value stands for: paths get `~` expanded, and shell completion offers files, folders,
 * guest names or Mac OS names for it.
 */
export type ValueKind = 'path' | 'dir' | 'guest' | 'os' | 'check' | 'text';

export interface OptionSpec {
  /** As commander takes them: '-v, --verbose', '--ram <size>', '--no-guest', '--patch <name|file>'. */
  flags: string;
  help: string;
  default?: string;
  /** The only values commander accepts (it refuses others with the list). */
  choices?: readonly string[];
  /** Values completion offers, where the command checks the value itself. */
  words?: readonly string[];
  value?: ValueKind;
  /** The option may be given more than once; its values are collected in a list. */
  repeatable?: boolean;
  /** An option that clashes with this one (its camelCase attribute name, as commander names it). */
  conflicts?: string;
  required?: boolean;
  /** Accepted, left out of help, completion and the man page (old names, test-only options). */
  hidden?: boolean;
}

export interface ArgSpec {
  /** `name`, `[name]`, `<name>`, `[paths...]`: as commander writes them. */
  name: string;
  help?: string;
  value?: ValueKind;
  /** The words it takes (completion offers them). */
  choices?: readonly string[];
}

export interface RunInput<O> {
  /** The positional arguments, in order (a variadic one is a list). */
  args: ReadonlyArray<string | string[] | undefined>;
  opts: O;
  /** The whole command line as typed (launch needs where the literal `--` was). */
  rawArgs: readonly string[];
}

/**
 * One command as data: commander builds its parser from it (src/cli/main.ts), and help, shell
 * completion (src/cli/completion.ts) and the man page (src/cli/man.ts) are generated from it.
 */
export interface CommandSpec<O = Record<string, unknown>> {
  name: string;
  summary: string;
  args?: readonly ArgSpec[];
  options?: readonly OptionSpec[];
  /** `[command line, what it does]`; a comment's further lines go under its first. */
  examples?: ReadonlyArray<readonly [string, string?]>;
  /** Text after the examples (where things go, what a command needs). */
  notes?: string;
  /** What each exit status means for this command; the codes are those of the table (exit-codes.ts). */
  exits?: Readonly<Partial<Record<ExitMeaning, string>>>;
  /** The exported zod schema its --json output follows (named in help, the man page and docs). */
  jsonSchema?: string;
  hidden?: boolean;
  subcommands?: readonly CommandSpec<any>[];
  run?: (input: RunInput<O>) => Promise<number>;
}

export function defineCommand<O = Record<string, unknown>>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

/** The long name of an option ('--ram' from '--ram <size>'), and whether it takes a value. */
export function optionWords(o: OptionSpec): { long: string; short?: string; takesValue: boolean; valueName?: string } {
  const m = /^(?:(-\w),\s*)?(--[\w-]+)(?:\s+[<[]([^>\]]+)[>\]])?$/.exec(o.flags.trim());
  if (!m) throw new Error(`option flags not understood: ${o.flags}`);
  return { long: m[2]!, ...(m[1] ? { short: m[1] } : {}), takesValue: m[3] !== undefined, ...(m[3] ? { valueName: m[3] } : {}) };
}

/** Every command path with its spec: [['doctor'], spec], [['kernel', 'build-module'], spec], … */
export function walkCommands(specs: readonly CommandSpec<any>[], withHidden = false, prefix: string[] = []): Array<[string[], CommandSpec<any>]> {
  const out: Array<[string[], CommandSpec<any>]> = [];
  for (const s of specs) {
    if (s.hidden && !withHidden) continue;
    out.push([[...prefix, s.name], s]);
    if (s.subcommands) out.push(...walkCommands(s.subcommands, withHidden, [...prefix, s.name]));
  }
  return out;
}

/** The examples as help text: commands in one column, their comments aligned in the next. */
export function examplesText(examples: CommandSpec<any>['examples']): string {
  if (!examples?.length) return '';
  const width = Math.min(44, Math.max(...examples.filter(([, c]) => c).map(([cmd]) => cmd.length + 4)));
  const lines = ['Examples:'];
  for (const [cmd, comment] of examples) {
    const head = `  $ ${cmd}`;
    if (!comment) {
      lines.push(head);
      continue;
    }
    const [first, ...more] = comment.split('\n');
    lines.push(head.length + 2 <= width + 2 ? `${head.padEnd(width + 2)} ${first}` : `${head}   ${first}`);
    for (const m of more) lines.push(`${' '.repeat(width + 3)}${m}`);
  }
  return lines.join('\n');
}
