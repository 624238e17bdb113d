export { screenshotCommand } from '../launch/screenshot.js';
