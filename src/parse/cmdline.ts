/** Splits a kernel command line into arguments, honouring double quotes as the kernel does. */
export function splitCmdline(cmdline: string): string[] {
  const args: string[] = [];
  const re = /(?:[^\s"]+|"[^"]*")+/g;
  for (const m of cmdline.matchAll(re)) args.push(m[0]);
  return args;
}

/**
 * What `disable_radix` on a command line means: true (bare, or =1/y/on), false (=0/n/off),
 * or undefined when absent. Parsed like the kernel's kstrtobool (arch/powerpc/mm/init_64.c).
 */
export function disableRadixValue(cmdline: string): boolean | undefined {
  let result: boolean | undefined;
  for (const arg of splitCmdline(cmdline)) {
    if (arg === 'disable_radix') result = true;
    else if (arg.startsWith('disable_radix=')) {
      const v = arg.slice('disable_radix='.length).toLowerCase();
      if (/^[y1]/.test(v) || v.startsWith('on')) result = true;
      else if (/^[n0]/.test(v) || v.startsWith('of')) result = false;
    }
  }
  return result;
}
