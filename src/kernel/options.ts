import type { CommonBuildOptions } from './module-build.js';
import type { Reduction } from './reduce.js';

/** The LOCALVERSION of the kernels talos-mac builds (their release ends with it). */
export const DEFAULT_LOCALVERSION = '-talosmac';

/** What the kernel steps build with: the flags of `setup` and `kernel …`, never the host's state. */
export interface KernelStepOptions extends Omit<CommonBuildOptions, 'config' | 'host'> {
  /** Also install a built module under /lib/modules/<release>/updates/ (default true). */
  installModule?: boolean;
  localVersion?: string;
  /** Reduce the new kernel's configuration to these loaded modules (make localmodconfig). */
  reduce?: Reduction;
}
