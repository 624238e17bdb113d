import type { CommandResult } from '../../host/host.js';
import { describeCommandFailure } from '../../host/host.js';

/** Why `modprobe kvm_pr` failed, in words that say what to do next (kmod's and busybox's wording). */
export function explainModprobeFailure(r: CommandResult, module = 'kvm_pr'): string {
  const out = `${r.stderr}\n${r.stdout}`;
  const base = describeCommandFailure(r);
  // arch/powerpc/kvm/book3s_pr.c kvmppc_core_check_processor_compat_pr(): -EIO on POWER9 with radix; modprobe's
  // words for it, Input/output error, were seen in the pr-kernel-6.1.176-radix capture (tests/fixtures/README.md).
  if (/Input\/output error/i.test(out)) {
    return `${base}\n${module} refuses to load while the kernel runs the radix MMU: run the hash-MMU step first (mmu.next-boot), reboot, then run talos-mac setup again.`;
  }
  if (/not found|No such file or directory|can't change directory/i.test(out)) {
    return `${base}\nThere is no ${module} module for this kernel: it must be built (or a kernel with CONFIG_KVM_BOOK3S_64_PR=m installed); talos-mac setup builds it (the kernel.* steps).`;
  }
  if (/Key was rejected|Required key not available|signature|Operation not permitted/i.test(out)) {
    return `${base}\nThe kernel refuses unsigned or wrongly signed modules (module.sig_enforce=1 or lockdown, e.g. Secure Boot): sign the module with a key the kernel trusts, or boot without enforcement.`;
  }
  if (/Invalid module format|Exec format error/i.test(out)) {
    return `${base}\nThe module was built for another kernel (version magic mismatch: see dmesg): rebuild it for \`uname -r\`.`;
  }
  return base;
}
