// Preloaded with --import: appends every module URL the process loads to $TALOS_MAC_TRACE_LOADS.
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (process.env.TALOS_MAC_TRACE_LOADS) appendFileSync(process.env.TALOS_MAC_TRACE_LOADS, url + '\\n');
  return next(url, context);
}`));
