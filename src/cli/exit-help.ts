import { wrapLine } from '../ui/wrap.js';
import { EXIT, EXIT_TABLE, type ExitMeaning } from '../exit-codes.js';

/** "Exit status:" lines for one command's help: its own words for each code it uses. */
export function exitStatusText(exits: Readonly<Partial<Record<ExitMeaning, string>>>): string {
  return ['Exit status:', ...(Object.keys(exits) as ExitMeaning[]).map((k) => codeLine(EXIT[k], exits[k]!))].join('\n');
}

/** `    1  meaning`, the meaning wrapped under itself at 80 columns. */
const codeLine = (code: number, meaning: string): string =>
  wrapLine(meaning, 73)
    .map((l, i) => `${i === 0 ? `  ${String(code).padStart(3)}  ` : ' '.repeat(7)}${l}`)
    .join('\n');

/** The exit-code table, as --help and the man page show it. */
export function exitTableText(): string {
  return ['Exit status (every command):', ...EXIT_TABLE.map((r) => codeLine(r.code, r.meaning))].join('\n');
}
