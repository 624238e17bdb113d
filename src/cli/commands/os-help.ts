import { OS_CATALOG } from '../../guests/catalog.js';

/** The Mac OS names `--os` takes, from the catalog: each id with its codename ("10.4 (tiger)"). */
export const OS_HELP = OS_CATALOG.map((o) => {
  const codename = o.aliases.find((a) => /^[a-z]+$/.test(a) && a !== o.id);
  return codename ? `${o.id} (${codename})` : o.id;
}).join(', ');

/** Every word `--os` accepts (completion offers them). */
export const OS_WORDS: readonly string[] = OS_CATALOG.flatMap((o) => [o.id, ...o.aliases.filter((a) => a !== o.id)]);
