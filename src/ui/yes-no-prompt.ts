// A yes/no question that takes only an answer: @inquirer/confirm (5.1, its dist/esm/index.js) turns anything
// not starting with y/n into the default and anything starting with "y" into yes. Built as
// @inquirer/confirm is, on @inquirer/core, so it looks the same; loaded only when a terminal asks.
import { createPrompt, isEnterKey, makeTheme, useKeypress, usePrefix, useState, type Status } from '@inquirer/core';
import { parseYesNo, yesNoHint } from './prompts.js';

export const yesNo = createPrompt<boolean, { message: string; default: boolean }>((config, done) => {
  const [status, setStatus] = useState<Status>('idle');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const theme = makeTheme();
  const prefix = usePrefix({ status, theme });
  useKeypress((key, rl) => {
    if (status !== 'idle') return;
    if (isEnterKey(key)) {
      // readline has already emptied its line: a refused answer is typed afresh.
      const answer = parseYesNo(value, config.default);
      if (answer === undefined) {
        setValue('');
        setError(yesNoHint(config.default));
        return;
      }
      setValue(answer ? 'Yes' : 'No');
      setError(undefined);
      setStatus('done');
      done(answer);
    } else {
      setValue(rl.line);
      setError(undefined);
    }
  });
  const message = theme.style.message(config.message, status);
  if (status === 'done') return `${prefix} ${message} ${theme.style.answer(value)}`;
  const line = `${prefix} ${message} ${theme.style.defaultAnswer(config.default ? 'Y/n' : 'y/N')} ${value}`;
  return [line, error ? theme.style.error(error) : ''];
});
