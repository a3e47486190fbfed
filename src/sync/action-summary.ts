/** What a run did or plans, by action type, as its history says it (`createUser, addOrgRoles ×2`). */
export function actionTypes(actions: readonly { readonly type: string }[]): string {
  const counts = new Map<string, number>();
  for (const a of actions) counts.set(a.type, (counts.get(a.type) ?? 0) + 1);
  return [...counts].map(([type, n]) => (n > 1 ? `${type} ×${n}` : type)).join(', ');
}
