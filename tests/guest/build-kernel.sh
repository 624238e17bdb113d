#!/bin/sh
# Builds the test guest's 32-bit PowerPC kernel: Debian's linux-source-6.1, pmac32_defconfig
# reduced by kernel.config, the initramfs (a gen_init_cpio list) built in.
# usage: build-kernel.sh TARBALL FRAGMENT INITRAMFS_LIST BUILD_DIR   -> BUILD_DIR/vmlinux (zImage.pmac)
set -eu
tarball=$1 fragment=$2 list=$3 dir=$4
mk() { make -C "$dir/src" O="$dir/out" ARCH=powerpc CROSS_COMPILE=powerpc-linux-gnu- "$@"; }
mkdir -p "$dir/out"
if [ ! -f "$dir/src/Makefile" ]; then
  rm -rf "$dir/src.tmp" && mkdir -p "$dir/src.tmp"
  tar -xf "$tarball" -C "$dir/src.tmp" --strip-components=1
  mv "$dir/src.tmp" "$dir/src"
fi
if [ ! -f "$dir/out/.config" ] || [ "$fragment" -nt "$dir/out/.config" ]; then
  mk pmac32_defconfig >/dev/null
  # Without modules Kconfig would build every =m in: drop them instead (the fragment names what stays).
  sed -i 's/^\(CONFIG_[A-Za-z0-9_]*\)=m$/# \1 is not set/' "$dir/out/.config"
  { cat "$fragment"; echo "CONFIG_INITRAMFS_SOURCE=\"$list\""; } > "$dir/out/fragment.config"
  "$dir/src/scripts/kconfig/merge_config.sh" -m -O "$dir/out" "$dir/out/.config" "$dir/out/fragment.config" >/dev/null
  mk olddefconfig >/dev/null
  # Every line of the fragment must have taken (a dependency missing silently drops it).
  # An option switched off may vanish from .config instead (its dependencies are off): that is off too.
  missing=$(grep -E '^(CONFIG_|# CONFIG_.* is not set)' "$dir/out/fragment.config" | while IFS= read -r line; do
    case $line in
      '# '*) opt=${line#\# }; opt=${opt%% *}; ! grep -qE "^$opt=" "$dir/out/.config" || echo "$line" ;;
      *) grep -qxF "$line" "$dir/out/.config" || echo "$line" ;;
    esac
  done)
  if [ -n "$missing" ]; then echo "kernel.config lines that did not take:" >&2; echo "$missing" >&2; exit 1; fi
fi
# zImage.pmac: the kernel behind the boot wrapper (arch/powerpc/boot), an ELF that Open Firmware
# loads at 0x400000 and that claims memory and decompresses vmlinux through OF's client interface.
# OpenBIOS cannot boot the bare vmlinux from a CD (its 0xc0000000 load address is virtual).
mk -j"${JOBS:-2}" vmlinux zImage.pmac
cp "$dir/out/arch/powerpc/boot/zImage.pmac" "$dir/vmlinux.tmp" && mv "$dir/vmlinux.tmp" "$dir/vmlinux"
