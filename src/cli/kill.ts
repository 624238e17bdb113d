export { killCommand } from '../launch/control.js';
