import { defineCommand } from '../command.js';

/** launch --detach runs the guest in this hidden command (src/launch/supervise.ts). */
export default defineCommand({
  name: '_supervise',
  summary: 'the background launcher of launch --detach',
  hidden: true,
  args: [{ name: '<spec>' }],
  async run({ args }) {
    const { superviseCommand } = await import('../../launch/supervise.js');
    return superviseCommand(args[0] as string);
  },
});
