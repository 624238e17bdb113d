/** The record lives with the runner that writes it (src/privileged/record.ts); setup's code names it here. */
export * from '../privileged/record.js';
