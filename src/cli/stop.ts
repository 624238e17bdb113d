import { thisMachine } from '../host/open.js';
import { stopCommand as stop } from '../launch/control.js';

export const stopCommand = (name: string, env: NodeJS.ProcessEnv = process.env, o: { json?: boolean } = {}): Promise<number> => stop(name, thisMachine(env), env, o);
