import { UserError } from '../errors.js';

export interface Question {
  message: string;
  /** The answer offered when a person just presses Enter. */
  default: boolean;
  /** The answer `--yes` gives (defaults to yes); "no" for things only a person should choose. */
  unattended?: boolean;
}

/** Every question setup asks goes through this, so that tests and --yes can answer instead. */
export interface Prompts {
  confirm(q: Question): Promise<boolean>;
}

export function makePrompts(opts: { yes: boolean; interactive: boolean }): Prompts {
  if (opts.yes) return { confirm: async (q) => q.unattended ?? true };
  if (!opts.interactive) {
    return {
      confirm: async (q) => {
        throw new UserError(
          `setup needs an answer ("${q.message}") but standard input is not a terminal, so it will not wait for one. Run with --yes to accept every change, or --dry-run to see the plan. Nothing more was changed.`,
        );
      },
    };
  }
  return {
    confirm: async (q) => {
      const { confirm } = await import('@inquirer/prompts');
      try {
        return await confirm({ message: q.message, default: q.default });
      } catch (err) {
        if ((err as Error).name === 'ExitPromptError') throw new UserError('interrupted: nothing more was changed.', 130);
        throw err;
      }
    },
  };
}
