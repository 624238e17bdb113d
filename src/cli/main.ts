import { Command, CommanderError, Option } from 'commander';
import { UserError } from '../errors.js';
import { expandHome } from '../parse/user-path.js';
import { shownLines } from '../ui/escape.js';
import { examplesText, optionWords, type CommandSpec, type OptionSpec } from './command.js';
import { COMMANDS, PROGRAM } from './commands/index.js';
import { EXIT } from '../exit-codes.js';
import { exitStatusText, exitTableText } from './exit-help.js';
import { VERSION } from '../version.js';

const isPath = (o: { value?: string | undefined }): boolean => o.value === 'path' || o.value === 'dir';
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function commanderOption(spec: OptionSpec): Option {
  const o = new Option(spec.flags, spec.help);
  if (spec.default !== undefined) o.default(spec.default);
  if (spec.choices) o.choices(spec.choices);
  if (spec.conflicts) o.conflicts(spec.conflicts);
  if (spec.required) o.makeOptionMandatory();
  if (spec.hidden) o.hideHelp();
  const home = isPath(spec) && optionWords(spec).takesValue;
  if (spec.repeatable) o.argParser((v: string, prev?: string[]) => collect(home ? expandHome(v) : v, prev));
  else if (home) o.argParser((v: string) => expandHome(v));
  return o;
}

/** The help text after the options: examples, notes, what its exit statuses mean. */
function helpAfter(spec: CommandSpec<any>): string {
  const parts = [examplesText(spec.examples), spec.notes ?? '', spec.exits ? exitStatusText(spec.exits) : ''].filter(Boolean);
  return parts.length ? `\n${parts.join('\n\n')}` : '';
}

function addCommand(parent: Command, spec: CommandSpec<any>, program: Command, setExit: (code: number) => void): void {
  const cmd = parent.command(spec.name, spec.hidden ? { hidden: true } : {}).description(spec.summary);
  for (const a of spec.args ?? []) {
    const arg = cmd.createArgument(a.name, a.help ?? '');
    if (isPath(a)) arg.argParser((v: string) => expandHome(v));
    cmd.addArgument(arg);
  }
  for (const o of spec.options ?? []) cmd.addOption(commanderOption(o));
  const after = helpAfter(spec);
  if (after) cmd.addHelpText('after', after);
  for (const sub of spec.subcommands ?? []) addCommand(cmd, sub, program, setExit);
  const run = spec.run;
  if (run) {
    cmd.action(async (...a: unknown[]) => {
      // commander passes the positional arguments, then the options, then the command.
      const args = a.slice(0, -2) as Array<string | string[] | undefined>;
      // rawArgs (commander sets it in parse(), untyped): where the literal -- was.
      setExit(await run({ args, opts: a[a.length - 2], rawArgs: (program as Command & { rawArgs: string[] }).rawArgs }));
    });
  }
}

/**
 * `only`: the command argv names, when it names one: the others are not built (commander builds
 * each command's options and help eagerly, a few milliseconds for all of them: npm run bench).
 * Anything else (help, an option first, a typo to suggest a name for) gets every command.
 */
function buildProgram(setExit: (code: number) => void, only?: CommandSpec<any>): Command {
  const program = new Command(PROGRAM.name)
    .description(PROGRAM.summary)
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', `\n${examplesText(PROGRAM.examples)}\n\n${exitTableText()}\nEach command's --help says what its codes mean for it; docs: README "Exit codes".`);
  for (const spec of only ? [only] : COMMANDS) addCommand(program, spec, program, setExit);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.OK;
  const named = COMMANDS.find((c) => c.name === argv[0]);
  const program = buildProgram((code) => {
    exitCode = code;
  }, named);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return exitCode;
    if (err instanceof UserError) {
      // A message may quote a name from a disc or a hand-edited definition (ui/escape.ts).
      (await import('../ui/output.js')).writeErrText(`talos-mac: ${shownLines(err.message)}\n`);
      return err.exitCode;
    }
    process.stderr.write(`talos-mac: internal error: ${(err as Error).stack ?? String(err)}\nPlease report this at the project's issue tracker.\n`);
    return EXIT.INTERNAL;
  }
}
