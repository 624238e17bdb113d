/**
 * How a distribution installs, removes and queries packages: argv arrays only (never a shell
 * line). Rows of the distribution table (src/distro/table.ts) name one of these; the privileged
 * runner records what it installed with the matching `remove`, so `setup --undo` can revert it.
 */
export interface PackageManager {
  /** The program, e.g. "apt-get": shown in plans and used to pick a long timeout. */
  readonly program: string;
  /** argv that installs these packages without asking. */
  install(packages: readonly string[]): string[];
  /** argv a person types to install them, with the tool's own defaults (it may ask; APT takes Recommends). */
  ask(packages: readonly string[]): string[];
  /** argv a person types to bring these installed packages up to the newest version the tool knows. */
  upgrade(packages: readonly string[]): string[];
  /**
   * argv that removes exactly these packages, and refuses (non-zero exit) rather than also remove
   * a package that depends on them: the front ends (apt-get, dnf, zypper remove) would take those
   * with them, so the low-level tools are used.
   */
  remove(packages: readonly string[]): string[];
  /** argv whose exit status is 0 exactly when this one package is installed. */
  query(pkg: string): string[];
  /**
   * A fresh system (a container, a cloud image) can have no package lists yet: an install that
   * fails with `listsMissing` in its output is tried once more after `refresh`.
   */
  readonly refresh?: readonly string[];
  readonly listsMissing?: RegExp;
}

const manager = (m: PackageManager): PackageManager => m;

/** apt-get(8), dpkg-query(1): ${db:Status-Abbrev} is "ii " for an installed package. */
export const APT = manager({
  program: 'apt-get',
  install: (p) => ['apt-get', 'install', '-y', '--no-install-recommends', ...p],
  ask: (p) => ['apt-get', 'install', ...p],
  // apt-get(8) --only-upgrade: upgrade what is installed, never install what is not.
  upgrade: (p) => ['apt-get', 'install', '--only-upgrade', ...p],
  // dpkg(1) --remove: "dependency problems prevent removal" while an installed package depends on it.
  remove: (p) => ['dpkg', '--remove', ...p],
  query: (p) => ['sh', '-c', 'dpkg-query -W -f \'${db:Status-Abbrev}\' "$1" 2>/dev/null | grep -q "^ii"', 'sh', p],
  // apt-get(8): with no lists it knows no package ("E: Unable to locate package …").
  refresh: ['apt-get', 'update'],
  listsMissing: /\bE: (Unable to locate package |Package '[^']+' has no installation candidate)/,
});

/** dnf(8), rpm(8). */
export const DNF = manager({
  program: 'dnf',
  install: (p) => ['dnf', 'install', '-y', ...p],
  ask: (p) => ['dnf', 'install', ...p],
  upgrade: (p) => ['dnf', 'upgrade', ...p],
  // rpm(8) -e: "Failed dependencies" while an installed package requires it.
  remove: (p) => ['rpm', '-e', ...p],
  query: (p) => ['rpm', '-q', '--quiet', p],
});

/** zypper(8), rpm(8). */
export const ZYPPER = manager({
  program: 'zypper',
  install: (p) => ['zypper', '--non-interactive', 'install', ...p],
  ask: (p) => ['zypper', 'install', ...p],
  upgrade: (p) => ['zypper', 'update', ...p],
  remove: (p) => ['rpm', '-e', ...p],
  query: (p) => ['rpm', '-q', '--quiet', p],
});

/** apk(8) of apk-tools 3 (Chimera Linux): `apk info -e` exits with the number of named packages not installed (doc/apk-info.8.scd). */
export const APK = manager({
  program: 'apk',
  install: (p) => ['apk', 'add', ...p],
  ask: (p) => ['apk', 'add', ...p],
  upgrade: (p) => ['apk', 'upgrade', ...p],
  // apk del only drops them from the world file when another package still needs them. [inferred]
  remove: (p) => ['apk', 'del', ...p],
  query: (p) => ['apk', 'info', '-e', p],
});

/** pacman(8). */
export const PACMAN = manager({
  program: 'pacman',
  install: (p) => ['pacman', '-S', '--needed', '--noconfirm', ...p],
  ask: (p) => ['pacman', '-S', ...p],
  upgrade: (p) => ['pacman', '-S', ...p],
  remove: (p) => ['pacman', '-R', '--noconfirm', ...p],
  query: (p) => ['pacman', '-Q', p],
});

/** Every package manager the table's rows name, and the only ones whose remove command `setup --undo` runs from a record. */
export const PACKAGE_MANAGERS: readonly PackageManager[] = [APT, DNF, ZYPPER, APK, PACMAN];

/** Is this program one that installs or removes packages (given a long timeout: killed midway, it leaves the package database half-done)? */
export const isPackageTool = (program: string): boolean => PACKAGE_MANAGERS.some((m) => m.program === program || m.remove(['x'])[0] === program);
