/**
 * The PowerPC Mac OS versions talos-mac knows, as data. Sources: [S] reported from real POWER9
 * hosts (2018), not seen here; [C] community command lines and QEMU sources (hw/ppc/mac_newworld.c);
 * [I] our inference: every entry lists what rests on an inference in `inferred`.
 */

/** mac99 refuses more ("RAM size more than 2 GiB is not supported", hw/ppc/mac_newworld.c). */
export const MAC99_MAX_RAM_MB = 2048;
export const MIN_RAM_MB = 64;

/** QEMU `-cpu` names for the 7450 family: no 7450-series G4 boots under KVM-PR [S]. */
export const G4_7450_SERIES = ['7450', 'vger', '7441', '7445', '7447', '7447a', '7448', '7451', '7455', '7457', 'apollo6', 'apollo7'] as const;

/** CPU spellings QEMU accepts for the same model; talos-mac stores the first. */
export const CPU_ALIASES: Readonly<Record<string, string>> = { nitro: '7410', '750': 'g3', '7400': 'g4', vger: '7450' };

/** What plain TCG can run on mac99 (all 32-bit; 970/G5 exists only in qemu-system-ppc64). */
const TCG_CPUS = ['g3', 'g4', '7410', '7450', '7447a', '7448', '7455', '7457'] as const;
const TCG_CPUS_NO_G3 = ['g4', '7410', '7450', '7447a', '7448', '7455', '7457'] as const;

export type Pointer = 'usb-tablet' | 'grab';
export type Nic = 'sungem' | 'rtl8139';
export type Via = 'cuda' | 'pmu';

export interface OsEntry {
  readonly id: string;
  readonly title: string;
  /** What users type: versions, codenames, short forms (lower case). */
  readonly aliases: readonly string[];
  readonly family: 'os9' | 'rhapsody' | 'osx';
  readonly kvm: {
    /** Boots under KVM-PR on POWER9. */
    readonly works: boolean;
    /** Printed with every KVM launch (or why it does not work). */
    readonly note: string;
    /** CPUs that boot under KVM-PR: G3 everywhere, 7410 "Nitro" for most, never a 7450-series or a 970 [S]. */
    readonly cpus: readonly string[];
    readonly defaultCpu: string;
  };
  readonly tcg: { readonly cpus: readonly string[]; readonly defaultCpu: string };
  readonly via: Via;
  /** A USB tablet gives an absolute pointer (no grab); without one QEMU grabs the mouse. */
  readonly pointer: Pointer;
  readonly nics: readonly Nic[];
  readonly ramMb: number;
  readonly diskGb: number;
  readonly resolution: string;
  /** OpenBIOS variables beyond auto-boot. */
  readonly promEnv: readonly string[];
  readonly notes: readonly string[];
  readonly inferred: readonly string[];
  /** Why this keyboard, mouse and pointer, each line tagged with its basis: [source] QEMU's code, [reported] users, [inferred] ours. */
  readonly input: readonly string[];
  /** Where install media for it usually comes from (talos-mac downloads nothing): shown by show and create. */
  readonly installMedia: string;
}

/**
 * What `via` gives the guest, from ppc_core99_init (hw/ppc/mac_newworld.c): has_adb is true for
 * cuda and pmu-adb, and only without ADB are usb-kbd and usb-mouse created; the OHCI USB bus is
 * there in every case (so a usb-tablet can be added). Seen on QEMU 7.2 with `info qtree`/`info usb`.
 */
export const VIA_INPUT: Readonly<Record<Via, string>> = {
  cuda: 'ADB keyboard and mouse (CUDA)',
  pmu: 'USB keyboard and mouse (PMU, no ADB)',
};

const SRC_CUDA = '[source] via=cuda: ADB keyboard and mouse through CUDA, plus an empty USB bus (hw/ppc/mac_newworld.c).';
const SRC_PMU = '[source] via=pmu: USB keyboard and mouse on the OHCI bus, no ADB (hw/ppc/mac_newworld.c).';
const NO_TABLET = '[source] no usb-tablet: QEMU then has only a relative mouse, grabbed by a window (Ctrl-Alt-G releases it).';

/** What every entry's installMedia ends with: how a disc becomes an image QEMU can boot. */
/** The catalog's evidence tags ([I], [source], [reported], [inferred]): shown by show -v only. */
const EVIDENCE_TAG = /\[(?:I|S|C|source|reported|inferred)\]/g;

/** A catalog line without its evidence tags, for every text but show -v. */
export function untagged(line: string): string {
  return line.replace(EVIDENCE_TAG, '').replace(/ {2,}/g, ' ').replace(/\s+([.,;:)])/g, '$1').trim();
}

export const MEDIA_IMAGE_HINT =
  'Make an image of a disc you own with dd if=/dev/sr0 of=disc.iso (a raw copy; .iso, .cdr and .toast images of Mac discs are raw too); a compressed .dmg must be converted to raw first. Check any image with talos-mac media check FILE.';

const KVM_CPUS = ['g3', '7410'] as const;

const tcgOnly = (note: string, defaultCpu: string) => ({ works: false, note, cpus: [], defaultCpu }) as const;

/** What the Mac OS X entries share unless they say otherwise (10.3 and later as the base). */
const OSX = {
  family: 'osx',
  tcg: { cpus: TCG_CPUS, defaultCpu: 'g4' },
  via: 'pmu',
  pointer: 'usb-tablet',
  nics: ['rtl8139', 'sungem'],
  ramMb: 1024,
  diskGb: 20,
  resolution: '1024x768x32',
  promEnv: ['boot-args=-v'],
  inferred: [],
  input: [SRC_PMU, '[reported] via=pmu for Mac OS X 10.2 and later: the community and UTM configurations use it.', '[reported] usb-tablet: an absolute pointer (no grab) that 10.3 and later drive with their own USB HID driver.'],
} as const;

/** 10.0 and 10.1: TCG only, and via=cuda. */
const EARLY_OSX = {
  ...OSX,
  via: 'cuda',
  pointer: 'grab',
  nics: ['sungem', 'rtl8139'],
  ramMb: 512,
  diskGb: 4,
  notes: ['via=cuda: with via=pmu it hangs at the Happy Mac (QEMU gitlab #3276).', 'QEMU grabs the mouse; Ctrl-Alt-G releases it.'],
  inferred: ['No network driver is known to work; sungem is attached as the QEMU default.'],
  input: [SRC_CUDA, '[reported] via=cuda: with via=pmu 10.0 and 10.1 hang at the Happy Mac (QEMU gitlab #3276).', '[inferred] no tablet: not tried with 10.0/10.1 here; left out like for 10.2.', NO_TABLET],
} as const;

export const OS_CATALOG = [
  {
    id: 'os9',
    title: 'Mac OS 9 (9.0–9.2)',
    aliases: ['os9', '9', '9.0', '9.1', '9.2', '9.2.1', '9.2.2', 'macos9', 'mac-os-9'],
    family: 'os9',
    kvm: tcgOnly('Mac OS 9 stops in its nanokernel start-up under KVM-PR: it runs under TCG', 'g4'),
    tcg: { cpus: TCG_CPUS, defaultCpu: 'g4' },
    via: 'cuda',
    pointer: 'grab',
    nics: ['sungem', 'rtl8139'],
    ramMb: 512,
    diskGb: 4,
    resolution: '1024x768x32',
    promEnv: ['vga-ndrv?=true'],
    notes: [
      'No USB tablet driver ships with Mac OS 9 (only third-party ones): QEMU grabs the mouse; Ctrl-Alt-G releases it.',
      'rtl8139 needs a third-party driver; sungem works out of the box.',
      'SheepShaver is an alternative for Mac OS up to 9.0.4.',
    ],
    inferred: ['via=cuda (ADB) for Mac OS 9 follows the QEMU default; via=pmu (USB keyboard and mouse) is untested here.'],
    input: [SRC_CUDA, '[reported] Mac OS 9 drives the ADB keyboard and mouse (QEMU\'s mac99 default, used by the community command lines).', '[reported] no tablet: Mac OS 9 ships no USB tablet driver (third-party ones only).', NO_TABLET],
    installMedia: 'Mac OS 9 came on retail CDs (9.0, 9.1, 9.2.x upgrades) and on the grey install/restore discs shipped with each G3/G4 Mac; a grey disc is made for its Mac model and may refuse to install elsewhere [I].',
  },
  {
    id: 'rhapsody',
    title: 'Rhapsody (Mac OS X Server 1.x)',
    aliases: ['rhapsody', 'server1', '1.2', 'osxserver1'],
    family: 'rhapsody',
    kvm: tcgOnly('Rhapsody does not boot under KVM-PR: it runs under TCG', 'g3'),
    tcg: { cpus: TCG_CPUS, defaultCpu: 'g3' },
    via: 'cuda',
    pointer: 'grab',
    nics: ['sungem', 'rtl8139'],
    ramMb: 256,
    diskGb: 2,
    resolution: '1024x768x32',
    promEnv: ['boot-args=-v'],
    notes: ['The install takes several steps.', 'QEMU grabs the mouse; Ctrl-Alt-G releases it.'],
    inferred: [
      'Default CPU g3: Rhapsody predates the G4.',
      'No network driver is known to work; sungem is attached as the QEMU default.',
    ],
    input: [SRC_CUDA, '[inferred] via=cuda: Rhapsody predates the USB Macs, so ADB is what it surely drives.', NO_TABLET],
    installMedia: 'Rhapsody shipped as Mac OS X Server 1.x on CD, sold for the Macs of 1998–99; its Developer Releases went to developers only.',
  },
  {
    ...EARLY_OSX,
    id: '10.0',
    title: 'Mac OS X 10.0 Cheetah',
    aliases: ['10.0', 'cheetah', 'osx10.0'],
    kvm: tcgOnly('Mac OS X 10.0 does not boot from CD under KVM-PR: it runs under TCG', 'g4'),
    installMedia: 'Mac OS X 10.0 was sold on CD (with a Mac OS 9 CD in the box [I]).',
  },
  {
    ...EARLY_OSX,
    id: '10.1',
    title: 'Mac OS X 10.1 Puma',
    aliases: ['10.1', 'puma', 'osx10.1'],
    kvm: tcgOnly('Mac OS X 10.1 does not boot from CD under KVM-PR: it runs under TCG', 'g4'),
    installMedia: 'Mac OS X 10.1 came on retail CDs (and as an upgrade CD for 10.0 users, which needs 10.0 installed first [I]).',
  },
  {
    ...OSX,
    id: '10.2',
    title: 'Mac OS X 10.2 Jaguar',
    aliases: ['10.2', 'jaguar', 'osx10.2'],
    kvm: { works: true, note: 'Jaguar runs under KVM-PR with Finder glitches; Classic aborts with a bus error under KVM', cpus: KVM_CPUS, defaultCpu: 'g3' },
    pointer: 'grab',
    nics: ['sungem', 'rtl8139'],
    diskGb: 8,
    notes: ['No USB tablet support in Jaguar: QEMU grabs the mouse; Ctrl-Alt-G releases it.', 'rtl8139 needs a third-party driver; sungem works.'],
    inferred: ['7410 (Nitro) under KVM-PR: reported for "most" versions, not confirmed for Jaguar.', ...OSX.inferred],
    input: [SRC_PMU, '[reported] via=pmu for Mac OS X 10.2 and later: the community and UTM configurations use it.', '[reported] no tablet: Jaguar has no USB tablet support (its users ask for a tablet driver: pmj/QemuUSBTablet-OSX#6).', NO_TABLET],
    installMedia: 'Mac OS X 10.2 came on retail CDs (2 discs [I]) and on the grey discs shipped with Macs of 2002–03.',
  },
  {
    ...OSX,
    id: '10.3',
    title: 'Mac OS X 10.3 Panther',
    aliases: ['10.3', 'panther', 'osx10.3'],
    kvm: { works: true, note: 'Panther runs well under KVM-PR (faster than Tiger); the commpage optimisation helps', cpus: KVM_CPUS, defaultCpu: 'g3' },
    diskGb: 10,
    notes: ['Classic works (slowly).', 'rtl8139 driver is built in.'],
    installMedia: 'Mac OS X 10.3 came on retail CDs (3 discs; a DVD edition existed too [I]) and on the grey discs shipped with Macs of 2003–04.',
  },
  {
    ...OSX,
    id: '10.4',
    title: 'Mac OS X 10.4 Tiger',
    aliases: ['10.4', 'tiger', 'osx10.4'],
    kvm: { works: true, note: 'Tiger runs well under KVM-PR (the most compatible); the commpage optimisation helps', cpus: KVM_CPUS, defaultCpu: 'g3' },
    notes: ['Classic works.', 'rtl8139 driver is built in.'],
    installMedia: 'Mac OS X 10.4 came on a retail DVD (a CD set could be ordered [I]) and on the grey discs shipped with each Mac; for PowerPC use a PowerPC or Universal disc (Intel-only grey discs do not boot).',
  },
  {
    ...OSX,
    id: '10.5',
    title: 'Mac OS X 10.5 Leopard',
    aliases: ['10.5', 'leopard', 'osx10.5'],
    kvm: { works: true, note: 'Leopard runs under KVM-PR on a 7410 (Nitro) G4 only: it needs a G4, and no 7450-series G4 boots under KVM-PR', cpus: ['7410'], defaultCpu: '7410' },
    tcg: { cpus: TCG_CPUS_NO_G3, defaultCpu: 'g4' },
    nics: ['sungem', 'rtl8139'],
    ramMb: 1536,
    notes: [
      'Needs a G4 (no G3); no Classic.',
      'The installer may end saying it "could not make the computer start up": boot from the disk anyway (talos-mac launch without --install).',
    ],
    installMedia: 'Mac OS X 10.5 came on a Universal retail DVD (PowerPC and Intel) and on the grey discs shipped with Macs of 2007–08 (those made for Intel Macs do not boot a PowerPC [I]).',
  },
] as const satisfies readonly OsEntry[];

export type OsId = (typeof OS_CATALOG)[number]['id'];

export const OS_IDS: readonly string[] = OS_CATALOG.map((o) => o.id);

/** `tiger`, `10.4`, `OS9`, `Mac OS X 10.4` → the entry, or undefined. */
export function findOs(query: string): OsEntry | undefined {
  const q = query.trim().toLowerCase().replace(/^mac\s*os\s*x\s*/, '').replace(/\s+/g, '');
  return OS_CATALOG.find((o) => o.id === q || (o.aliases as readonly string[]).includes(q));
}

export function osById(id: string): OsEntry {
  const os = OS_CATALOG.find((o) => o.id === id);
  if (!os) throw new Error(`no catalog entry ${id}`);
  return os;
}

export function canonicalCpu(cpu: string): string {
  const c = cpu.trim().toLowerCase();
  return CPU_ALIASES[c] ?? c;
}

export function is7450Series(cpu: string): boolean {
  const c = canonicalCpu(cpu);
  return (G4_7450_SERIES as readonly string[]).includes(c) || c.startsWith('7450') || c.startsWith('744') || c.startsWith('745');
}

export function is970(cpu: string): boolean {
  return /^970/.test(canonicalCpu(cpu)) || canonicalCpu(cpu) === 'g5';
}
