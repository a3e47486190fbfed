/**
 * Validation of the user profile fields the emulator enforces, with Okta's cause strings
 * (`field: reason`). Okta's default org also requires `firstName` and `lastName`; the emulator requires
 * only `login` and `email`, the two the base schema cannot relax.
 */
import type { OktaProfile } from './state.js';

const EMAIL = /^[^@\s]+@[^@\s]+$/;

/** The `errorCauses` summaries for a profile, empty when it is valid. */
export function profileProblems(profile: OktaProfile): string[] {
  const causes: string[] = [];
  const login = profile['login'];
  const email = profile['email'];
  if (typeof login !== 'string' || login.trim() === '') causes.push('login: The field cannot be left blank');
  else if (!EMAIL.test(login)) causes.push('login: Username must be in the form of an email address');
  if (typeof email !== 'string' || email.trim() === '') causes.push('email: The field cannot be left blank');
  else if (!EMAIL.test(email)) causes.push('email: Does not match required pattern');
  return causes;
}

/** `value` as a profile object, or undefined when it is not a JSON object. */
export function asProfile(value: unknown): OktaProfile | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...(value as OktaProfile) } : undefined;
}
