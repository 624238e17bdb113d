import { defineCommand } from '../command.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

export default defineCommand({
  name: 'completion',
  summary: 'print a shell completion script for bash, zsh or fish (commands, options, guest and Mac OS names)',
  args: [{ name: '<shell>', help: 'bash | zsh | fish', choices: SHELLS }],
  examples: [
    ['talos-mac completion bash > ~/.local/share/bash-completion/completions/talos-mac'],
    ['talos-mac completion zsh > ~/.zfunc/_talos-mac', '(with fpath+=~/.zfunc before compinit)'],
    ['talos-mac completion fish > ~/.config/fish/completions/talos-mac.fish'],
  ],
  notes: 'Generated from the same command definitions as --help and the man page (talos-mac man).',
  exits: { OK: 'printed', USAGE: 'not one of bash, zsh, fish' },
  async run({ args }) {
    const [{ completionScript }, { COMMANDS }, { writeOut }, { UserError }] = await Promise.all([
      import('../completion.js'),
      import('./index.js'),
      import('../../ui/output.js'),
      import('../../errors.js'),
    ]);
    const shell = args[0] as string;
    if (!(SHELLS as readonly string[]).includes(shell)) throw new UserError(`no completion for ${JSON.stringify(shell)}: use bash, zsh or fish`);
    writeOut(completionScript(shell as (typeof SHELLS)[number], COMMANDS));
    return 0;
  },
});
