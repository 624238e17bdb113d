import { UserError } from '../errors.js';

/** A yes/no question. */
export interface Question {
  message: string;
  /** The answer offered when a person just presses Enter. */
  default: boolean;
  /** The answer `--yes` gives (defaults to yes); "no" for things only a person should choose. */
  unattended?: boolean;
  /** The option that answers it without a terminal; `--yes` unless said. */
  flag?: string;
}

export interface Choice<T extends string = string> {
  value: T;
  name: string;
  description?: string;
}

/** A pick from a list. */
export interface ChooseQuestion<T extends string = string> {
  message: string;
  choices: readonly Choice<T>[];
  /** Where the cursor starts, and the answer `--yes` gives; without it `--yes` cannot answer. */
  default?: T;
  /** The option that answers it without a terminal, e.g. `--os`. */
  flag: string;
}

/** Free text (a guest name, a file path); surrounding spaces are dropped. */
export interface TextQuestion {
  message: string;
  /** The answer Enter gives, and the answer `--yes` gives; without it an answer must be typed. */
  default?: string;
  /** The reason an answer is refused, or undefined to accept it. */
  validate?(answer: string): string | undefined;
  /** An empty answer is one (e.g. "no install CD"): Enter and --yes give it. */
  optional?: boolean;
  flag: string;
}

/** Every question setup asks goes through this, so that tests, --yes and a missing terminal can answer instead. */
export interface Prompts {
  confirm(q: Question): Promise<boolean>;
  choose<T extends string>(q: ChooseQuestion<T>): Promise<T>;
  text(q: TextQuestion): Promise<string>;
}

const YES_FLAG = '--yes';

/**
 * Reads a typed yes/no answer: "", y, yes, n, no (any case, spaces around ignored); anything else
 * is undefined, so stray typing is asked again instead of becoming the default (which
 * @inquirer/prompts' confirm does) or a "yes" ("yesterday").
 */
export function parseYesNo(typed: string, dflt: boolean): boolean | undefined {
  const s = typed.trim().toLowerCase();
  if (s === '') return dflt;
  if (s === 'y' || s === 'yes') return true;
  if (s === 'n' || s === 'no') return false;
  return undefined;
}

export const yesNoHint = (dflt: boolean) => `Answer yes or no (Enter: ${dflt ? 'yes' : 'no'})`;

/** The reason a typed text answer is refused (undefined: accepted). */
export function checkText(q: TextQuestion, typed: string): string | undefined {
  const s = typed.trim() || (q.default ?? '');
  if (s === '') return q.optional ? undefined : 'Type an answer';
  return q.validate?.(s);
}

/** What `--yes` answers, or the reason it cannot. */
function unattended(q: ChooseQuestion | TextQuestion, kind: 'choose' | 'text'): { answer: string } | { missing: string } {
  if (kind === 'text' && (q as TextQuestion).optional && !q.default) return { answer: '' };
  if (q.default === undefined) return { missing: `it has no default answer` };
  if (kind === 'choose') {
    if (!(q as ChooseQuestion).choices.some((c) => c.value === q.default)) throw new Error(`"${q.message}": default ${q.default} is not one of its choices`);
    return { answer: q.default };
  }
  const refused = checkText(q as TextQuestion, q.default);
  return refused ? { missing: `its default "${q.default}" is refused: ${refused}` } : { answer: q.default.trim() };
}

function noDefault(q: { message: string; flag: string }, why: string): UserError {
  return new UserError(`--yes cannot answer "${q.message}" (${why}): give it with ${q.flag}. Nothing more was changed.`);
}

function noTerminal(q: { message: string; flag?: string }): UserError {
  const flag = q.flag ?? YES_FLAG;
  const how = flag === YES_FLAG ? 'Run with --yes to accept every change, or --dry-run to see the plan.' : `Give it with ${flag}.`;
  return new UserError(`setup needs an answer ("${q.message}") but standard input is not a terminal, so it will not wait for one. ${how} Nothing more was changed.`);
}

/** The answers --yes gives. */
function yesPrompts(): Prompts {
  return {
    confirm: async (q) => q.unattended ?? true,
    choose: async <T extends string>(q: ChooseQuestion<T>) => {
      const u = unattended(q, 'choose');
      if ('missing' in u) throw noDefault(q, u.missing);
      return u.answer as T;
    },
    text: async (q) => {
      const u = unattended(q, 'text');
      if ('missing' in u) throw noDefault(q, u.missing);
      return u.answer;
    },
  };
}

/**
 * Throws one UserError naming every flag whose answer is missing (`has: false`), each once, with
 * what it answers. For a wizard that knows its questions up front; `collectingPrompts` finds them
 * by running the question phase.
 */
export function missingAnswers(questions: readonly { flag: string; about: string; has: boolean }[]): void {
  const missing = new Map<string, string>();
  for (const q of questions) if (!q.has && !missing.has(q.flag)) missing.set(q.flag, q.about);
  if (missing.size === 0) return;
  const list = [...missing].map(([flag, about]) => `${flag} (${about})`).join(', ');
  throw new UserError(`setup needs answers it cannot ask for without a terminal: ${list}. Nothing was changed.`);
}

export interface CollectingPrompts extends Prompts {
  /** Throws the one UserError listing every flag the questions asked so far needed; returns if none. */
  finish(): void;
}

/**
 * Asks nothing: answers what `--yes` can (when `yes`), records every other question with its flag
 * and answers it provisionally (its default, else the first choice, else "") so the question phase
 * runs to its end. Run the wizard's questions through it first without a terminal, then `finish()`:
 * one error lists every missing flag before anything is done.
 */
export function collectingPrompts(opts: { yes: boolean }): CollectingPrompts {
  const asked: { flag: string; about: string; has: boolean }[] = [];
  const yes = yesPrompts();
  return {
    confirm: async (q) => {
      asked.push({ flag: q.flag ?? YES_FLAG, about: (q.flag ?? YES_FLAG) === YES_FLAG ? 'to proceed' : q.message, has: opts.yes });
      return opts.yes ? yes.confirm(q) : q.default;
    },
    choose: async <T extends string>(q: ChooseQuestion<T>) => {
      const u = opts.yes ? unattended(q, 'choose') : undefined;
      asked.push({ flag: q.flag, about: q.message, has: u !== undefined && 'answer' in u });
      if (u && 'answer' in u) return u.answer as T;
      const first = q.default ?? q.choices[0]?.value;
      if (first === undefined) throw new Error(`"${q.message}" has no choices`);
      return first;
    },
    text: async (q) => {
      const u = opts.yes ? unattended(q, 'text') : undefined;
      asked.push({ flag: q.flag, about: q.message, has: u !== undefined && 'answer' in u });
      return u && 'answer' in u ? u.answer : (q.default ?? '');
    },
    finish: () => missingAnswers(asked),
  };
}

/** Ctrl-C (or a closed terminal) at any prompt: @inquirer's ExitPromptError. */
async function ask<T>(prompt: () => Promise<T>): Promise<T> {
  try {
    return await prompt();
  } catch (err) {
    if ((err as Error).name === 'ExitPromptError') throw new UserError('interrupted: nothing more was changed.', 130);
    throw err;
  }
}

function terminalPrompts(): Prompts {
  return {
    confirm: (q) =>
      ask(async () => {
        const { yesNo } = await import('./yes-no-prompt.js');
        return yesNo({ message: q.message, default: q.default });
      }),
    choose: <T extends string>(q: ChooseQuestion<T>) =>
      ask(async () => {
        const { select } = await import('@inquirer/prompts');
        return select<T>({ message: q.message, choices: q.choices, default: q.default });
      }),
    text: (q) =>
      ask(async () => {
        const { input } = await import('@inquirer/prompts');
        const typed = await input({ message: q.message, default: q.default, validate: (s) => checkText(q, s) ?? true });
        return typed.trim() || (q.default ?? '');
      }),
  };
}

/** `yes`: every question gets the answer --yes gives; no terminal: every question is an error naming its flag. */
export function makePrompts(opts: { yes: boolean; interactive: boolean }): Prompts {
  if (opts.yes) return yesPrompts();
  if (!opts.interactive) {
    return {
      confirm: async (q) => {
        throw noTerminal(q);
      },
      choose: async (q) => {
        throw noTerminal(q);
      },
      text: async (q) => {
        throw noTerminal(q);
      },
    };
  }
  return terminalPrompts();
}
