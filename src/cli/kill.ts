import { thisMachine } from '../host/open.js';
import { killCommand as kill } from '../launch/control.js';

export const killCommand = (name: string, env: NodeJS.ProcessEnv = process.env, o: { json?: boolean } = {}): Promise<number> => kill(name, thisMachine(env), env, o);
