import { builtin } from '../builtin.js';

/** The hex SHA-256 of bytes written or found: what a record keeps to tell its own file from one edited since. */
export const sha256 = (data: Buffer): string => builtin.crypto().createHash('sha256').update(data).digest('hex');
