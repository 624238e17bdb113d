import { UserError } from '../errors.js';

/** Letters, digits, '.', '_', '-'; starts with a letter or digit: safe as a file name, a QEMU -name and in a shell. */
export const GUEST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function nameProblem(name: string): string | undefined {
  if (GUEST_NAME.test(name)) return undefined;
  if (name === '') return 'the name is empty';
  if (/[/\\]/.test(name)) return 'a name cannot contain a path separator';
  if (name.length > 63) return 'a name is at most 63 characters';
  return 'use letters, digits, ".", "_" and "-", starting with a letter or digit (e.g. tiger, os9-games)';
}

export function checkName(name: string): string {
  const problem = nameProblem(name);
  if (problem) throw new UserError(`invalid guest name ${JSON.stringify(name)}: ${problem}.`);
  return name;
}
