export { stopCommand } from '../launch/control.js';
