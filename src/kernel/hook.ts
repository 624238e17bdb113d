import { hasFeature, type Distro } from '../distro/distro.js';
import { STATE_DIR } from '../privileged/record.js';

/** What the hook appends to, one release a line (read by kernel.distro-newer). */
export const REBUILD_NEEDED_FILE = `${STATE_DIR}/rebuild-needed`;

/**
 * Debian's kernel image packages run every executable in /etc/kernel/postinst.d as
 * `HOOK VERSION IMAGE_PATH` (linux-image-*'s postinst: `run-parts --report --exit-on-error
 * --arg=$version --arg=$image_path /etc/kernel/postinst.d`); run-parts takes only names of
 * letters, digits, "_" and "-" (run-parts(8)). "zz-" sorts it after initramfs-tools and zz-update-grub.
 */
export const HOOK_PATH = '/etc/kernel/postinst.d/zz-talos-mac';

export const hookSupported = (d: Distro): boolean => hasFeature(d, 'kernel-postinst.d');

/**
 * A POSIX sh script that only notes the new release and says what to run: a kernel build takes
 * hours and must never run inside the package manager's transaction. It always exits 0, because
 * --exit-on-error would fail the kernel's installation for a problem of talos-mac's.
 */
export function hookScript(o: { suffix: string; stateFile?: string }): string {
  const state = o.stateFile ?? REBUILD_NEEDED_FILE;
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh
# Installed by \`talos-mac setup --kernel-hook\`; \`talos-mac setup --undo\` removes it.
# Notes each new kernel for talos-mac; it never builds (that takes hours: run talos-mac setup).
version="\${1:-}"
[ -n "$version" ] || exit 0
case "$version" in
  *${o.suffix.replace(/[^A-Za-z0-9._+-]/g, '')}) exit 0 ;;
esac
state=${q(state)}
mkdir -p "\${state%/*}" 2>/dev/null
printf '%s\\n' "$version" 2>/dev/null >>"$state"
echo "talos-mac: Linux $version installed; run 'talos-mac setup' to rebuild talos-mac's KVM-PR kernel or kvm-pr module for it" >&2
exit 0
`;
}
