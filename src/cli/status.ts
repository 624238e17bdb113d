import { thisMachine } from '../host/open.js';
import { statusCommand as status } from '../launch/control.js';

export const statusCommand = (name: string | undefined, o: { json?: boolean }): Promise<number> => status(name, o, thisMachine());
