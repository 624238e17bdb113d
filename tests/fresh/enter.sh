#!/bin/sh
# Runs ARGV chrooted in a root, inside the private mount and PID namespace that
# `unshare --mount --propagation private --pid --fork` made (tests/fresh/root.ts): /proc mounted
# for the new PID namespace, /dev and /sys (read-only) bound from the host, the host's resolv.conf.
# Every mount and process ends with the namespace.
#   enter.sh ROOT RUN|- [--bind SRC DST]... -- ARGV...
# RUN: a folder for an overlay over ROOT (RUN/upper holds every change; ROOT stays as it was);
# "-": ROOT itself (building the cached root).
set -eu
root=$1 run=$2
shift 2
if [ "$run" = - ]; then
  m=$root
else
  m=$run/merged
  mkdir -p "$run/upper" "$run/work" "$m"
  mount -t overlay overlay -o "lowerdir=$root,upperdir=$run/upper,workdir=$run/work" "$m"
fi
mount -t proc proc "$m/proc"
mount --rbind /dev "$m/dev"
mount --rbind /sys "$m/sys"
mount -o remount,bind,ro "$m/sys"
cp /etc/resolv.conf "$m/etc/resolv.conf"
while [ "$1" != -- ]; do
  [ "$1" = --bind ] || { echo "enter.sh: unknown option $1" >&2; exit 2; }
  mkdir -p "$m$3"
  mount --bind "$2" "$m$3"
  shift 3
done
shift
exec chroot "$m" "$@"
