import { thisMachine } from '../host/open.js';
import { killCommand as kill } from '../launch/control.js';

export const killCommand = (name: string): Promise<number> => kill(name, thisMachine());
