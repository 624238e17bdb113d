export { statusCommand } from '../launch/control.js';
