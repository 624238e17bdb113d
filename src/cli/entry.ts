import { main } from './main.js';

// `talos-mac … | head` closes the pipe early: that is not an error worth a stack trace.
const quietOnEpipe = (err: NodeJS.ErrnoException): void => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
};
process.stdout.on('error', quietOnEpipe);
process.stderr.on('error', quietOnEpipe);
process.on('SIGINT', () => process.exit(130));
process.exitCode = await main(process.argv.slice(2));
