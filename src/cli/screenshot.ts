import { thisMachine } from '../host/open.js';
import { screenshotCommand as screenshot } from '../launch/screenshot.js';

export const screenshotCommand = (name: string, file: string | undefined, o: { force?: boolean; json?: boolean }): Promise<number> => screenshot(name, file, o, thisMachine());
