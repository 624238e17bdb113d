import { builtin } from '../builtin.js';

/**
 * The hex SHA-256 of bytes written or found (what a record keeps to tell its own file from one
 * edited since), and of the keys caches and runtime folders are named by.
 */
export const sha256 = (data: string | Buffer): string => builtin.crypto().createHash('sha256').update(data).digest('hex');
