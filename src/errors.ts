/** An error caused by what the user asked for or gave us: shown as one clear message, never a stack trace. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode: number = 2) {
    super(message);
    this.name = 'UserError';
  }
}
