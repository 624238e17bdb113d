// Module signing of a new kernel, decided from the running kernel's configuration rather than
// left to whatever olddefconfig fills in. Debian's installed /boot/config-* has no
// MODULE_SIG_KEY, MODULE_SIG_ALL or SYSTEM_TRUSTED_KEYS line (seen in config-6.1.0-57 and
// config-6.12.113+deb13), so without these edits Kconfig's defaults would decide silently.
import { join } from 'node:path';
import { configValue, type KernelConfig } from '../parse/kconfig.js';
import type { ConfigEdit } from './config.js';

/** Kconfig's default key name: certs/Makefile generates the key when the option is exactly this. */
export const GENERATED_KEY = 'certs/signing_key.pem';

export interface SigningDecision {
  sign: boolean;
  edits: ConfigEdit[];
  /** Where the private key will be, when signing. */
  key?: string;
  /** The decision and its reasons, printed by configure-kernel and build-kernel. */
  lines: string[];
}

export function signingDecision(config: KernelConfig, tree: string): SigningDecision {
  const enforced = configValue(config, 'CONFIG_MODULE_SIG_FORCE') === 'y';
  // POWER9 OpenPOWER: skiboot/Petitboot secure boot reaches the OS only through PPC_SECURE_BOOT
  // (arch/powerpc/kernel/Makefile: secure_boot.o), which Debian's ppc64el configs leave off.
  const platform =
    `On POWER9 OpenPOWER (skiboot/Petitboot) the kernel acts on firmware secure boot only with CONFIG_PPC_SECURE_BOOT (here ${configValue(config, 'CONFIG_PPC_SECURE_BOOT') === 'y' ? 'on' : 'off'}); ` +
    `lockdown is ${configValue(config, 'CONFIG_LOCK_DOWN_KERNEL_FORCE_NONE') === 'y' ? 'not forced (LOCK_DOWN_KERNEL_FORCE_NONE)' : 'forced by the configuration'} ` +
    `and signatures are ${enforced ? 'enforced (MODULE_SIG_FORCE=y): unsigned modules are refused' : 'not enforced (MODULE_SIG_FORCE is off): an unsigned or foreign-signed module loads and taints the kernel, unless booted with module.sig_enforce=1'}.`;
  if (configValue(config, 'CONFIG_MODULE_SIG') !== 'y') {
    return {
      sign: false,
      edits: [],
      lines: [`Module signing: off, as in the running kernel (CONFIG_MODULE_SIG is not set): nothing is signed and no key is made. ${platform}`],
    };
  }
  const key = join(tree, GENERATED_KEY);
  return {
    sign: true,
    key,
    edits: [
      { op: 'set-str', key: 'MODULE_SIG_KEY', value: GENERATED_KEY, why: 'sign modules with a key generated for this build (certs/Makefile makes it when the option is exactly this)' },
      { op: 'enable', key: 'MODULE_SIG_ALL', why: 'sign every module at modules_install, as the distribution signs its own' },
      { op: 'set-str', key: 'SYSTEM_TRUSTED_KEYS', value: '', why: "trust only this build's key: the distribution's certificates are not in its source" },
    ],
    lines: [
      `Module signing: on, as in the running kernel (CONFIG_MODULE_SIG=y). Its modules are signed with a key generated for this build (openssl req, certs/default_x509.genkey), ` +
        `kept in the build tree: ${key} (private key and certificate; made readable by you only). Only modules built in this tree carry a signature the new kernel trusts.`,
      platform,
    ],
  };
}
