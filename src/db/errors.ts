/** PostgreSQL error helpers: the driver reports constraint failures as `{ code, constraint }`. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** A foreign key check failed (23503), optionally on one of `constraints`. */
export function isForeignKeyViolation(err: unknown, constraints?: readonly string[]): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === '23503' && (constraints === undefined || constraints.includes(e.constraint as string));
}
