import type { Random } from '../../lib/random.js';
import { hashPassword, isPasswordHash } from './password-hash.js';
import { SecurityError } from './security-error.js';

/** Accounts of an enrollment server: account name → scrypt password hash. */
export type UserTable = ReadonlyMap<string, string>;

/** Account names: letters, digits and . _ + - (and one @domain), so they make a clean rfc822Name (RFC 6940 §11.3). */
export const ACCOUNT_NAME = /^[A-Za-z0-9._+-]{1,64}(@[A-Za-z0-9.-]{1,190})?$/;
export const MAX_USERS = 100_000;

/**
 * Parses a users file: one account per line, `name:password` (hashed here with scrypt) or
 * `name:scrypt$N$r$p$salt$hash` (from {@link hashPassword}); blank lines and `#` comments are
 * ignored. Throws {@link SecurityError} naming the line.
 */
export function parseUserTable(text: string, random: Random): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    const secret = colon < 0 ? '' : line.slice(colon + 1);
    if (!ACCOUNT_NAME.test(name)) throw new SecurityError('USERS_INVALID', `users line ${i + 1}: bad account name ${JSON.stringify(name)}`);
    if (secret === '') throw new SecurityError('USERS_INVALID', `users line ${i + 1}: no password for ${name}`);
    if (users.has(name)) throw new SecurityError('USERS_INVALID', `users line ${i + 1}: ${name} appears twice`);
    if (users.size >= MAX_USERS) throw new SecurityError('USERS_INVALID', `more than ${MAX_USERS} users`);
    users.set(name, isPasswordHash(secret) ? secret : hashPassword(secret, random));
  }
  return users;
}
