import { thisMachine } from '../host/open.js';
import { stopCommand as stop } from '../launch/control.js';

export const stopCommand = (name: string): Promise<number> => stop(name, thisMachine());
