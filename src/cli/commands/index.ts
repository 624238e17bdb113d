import type { CommandSpec } from '../command.js';
import checkpoint from './checkpoint.js';
import completion from './completion.js';
import create from './create.js';
import demo from './demo.js';
import doctor from './doctor.js';
import files from './files.js';
import kernel from './kernel.js';
import kill from './kill.js';
import launch from './launch.js';
import list from './list.js';
import man from './man.js';
import media from './media.js';
import rm from './rm.js';
import screenshot from './screenshot.js';
import set from './set.js';
import setup from './setup.js';
import share from './share.js';
import show from './show.js';
import status from './status.js';
import stop from './stop.js';
import supervise from './supervise.js';

export const PROGRAM = {
  name: 'talos-mac',
  summary: 'Turn a POWER9 Linux workstation into a PowerPC Mac: KVM-PR host setup and Mac OS 9 / OS X guests in QEMU mac99.',
  examples: [
    ['talos-mac doctor', 'what this host lacks for KVM-PR, and the exact fix'],
    ['talos-mac doctor --json', 'the same, for scripts'],
    ['talos-mac demo', 'boot a tiny self-made Mac disk: proves QEMU and talos-mac work here'],
    ['talos-mac create tiger --os tiger --cdrom tiger.iso && talos-mac launch tiger --install'],
  ],
} as const satisfies Pick<CommandSpec, 'name' | 'summary' | 'examples'>;

/**
 * Every command, in the order --help lists them. A new command is a module in this folder and
 * one line here; help, completion and the man page follow (tests/cli/commands.test.ts checks).
 */
export const COMMANDS: readonly CommandSpec<any>[] = [
  doctor,
  setup,
  create,
  list,
  show,
  set,
  rm,
  launch,
  status,
  screenshot,
  supervise,
  stop,
  kill,
  checkpoint,
  media,
  share,
  files,
  demo,
  kernel,
  completion,
  man,
];
