import type { Prompts } from '../../src/ui/prompts.js';

/** Prompts for a test that answers only yes/no questions: any list or text question fails the test. */
export function confirmOnly(confirm: Prompts['confirm']): Prompts {
  return {
    confirm,
    choose: async (q) => {
      throw new Error(`unexpected question: ${q.message}`);
    },
    text: async (q) => {
      throw new Error(`unexpected question: ${q.message}`);
    },
  };
}
