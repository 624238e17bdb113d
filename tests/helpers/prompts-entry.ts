// Test-only: asks two yes/no questions, one list and one text through the compiled prompts in a
// terminal, and prints the answers as JSON (tests/setup/prompts-strict.test.ts drives it under script(1)).
import { UserError } from '../../src/errors.js';
import { makePrompts } from '../../src/ui/prompts.js';

const p = makePrompts({ yes: false, interactive: true });
try {
  const replace = await p.confirm({ message: 'Replace the old guest?', default: true });
  const keep = await p.confirm({ message: 'Keep its disk?', default: false });
  const os = await p.choose({
    message: 'Which Mac OS?',
    flag: '--os',
    default: '9.2',
    choices: [
      { value: '9.2', name: 'Mac OS 9.2.2' },
      { value: '10.4', name: 'Mac OS X 10.4 Tiger', description: 'the last with Classic' },
      { value: '10.5', name: 'Mac OS X 10.5 Leopard' },
    ],
  });
  const name = await p.text({
    message: 'Guest name?',
    flag: '--name',
    validate: (s) => (/^[a-z0-9][a-z0-9-]*$/.test(s) ? undefined : 'use lowercase letters, digits and -'),
  });
  process.stdout.write(`ANSWERS ${JSON.stringify({ replace, keep, os, name })}\n`);
} catch (err) {
  if (!(err instanceof UserError)) throw err;
  process.stderr.write(`talos-mac: ${err.message}\n`);
  process.exitCode = err.exitCode;
}
