/**
 * Database-connection passwords, kept only so that `/u/login` can check them: scrypt with a random salt,
 * compared in constant time. The Management API never returns them (views.ts drops the field).
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

// Low cost on purpose: this is a test double, and tests create many users. It is still not the plain text.
const COST = { N: 1024, r: 8, p: 1 } as const;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `${salt.toString('base64url')}:${scryptSync(password, salt, 32, COST).toString('base64url')}`;
}

export function passwordMatches(password: string, stored: string | undefined): boolean {
  const [salt, hash] = (stored ?? '').split(':');
  if (!salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = scryptSync(password, Buffer.from(salt, 'base64url'), expected.length, COST);
  return timingSafeEqual(actual, expected);
}
