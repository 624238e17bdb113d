import type { PrivilegedRunner } from '../privileged/runner.js';
import type { Step } from '../steps/step.js';
import type { Prompts } from './prompts.js';
import type { ChangeRecorder } from './record.js';

export type KvmHvChoice = 'keep' | 'unload' | 'blacklist';

/** What setup's steps need besides the host: how to change it, how to ask, and what was chosen by flags. */
export interface SetupDeps {
  runner: PrivilegedRunner;
  recorder: ChangeRecorder;
  prompts: Prompts;
  /** The user who should get /dev/kvm access. */
  targetUser: string;
  /** --kvm-hv: decided up front, or undefined to ask. */
  kvmHv?: KvmHvChoice;
  /** --root: where files are changed ("/" for the running system). */
  root: string;
  /** --build-kernel: a whole kernel build (hours) was asked for. */
  buildKernel: boolean;
  /** Is a program on PATH? (answers "yes" for snapshots, where nothing runs). */
  hasCommand(name: string): Promise<boolean>;
}

export type SetupStepFactory = (deps: SetupDeps) => Step;
