import { useEffect, useRef, useState } from 'preact/hooks';
import { api, enc, type UserSummary } from '../api';
import { ErrorNote, time } from '../components';
import { UserDetail } from './user-detail';

const PAGE = 50;
const STATUSES = ['', 'pending', 'synced', 'awaiting-login', 'held', 'failed', 'unbound'] as const;

interface GroupOption { id: string; displayName: string; users: number }

/** The tenant's directory users with their sync status, filtered by status, group, or a userName/email prefix. */
export function UsersTable({ tenant }: { tenant: string }) {
  const [status, setStatus] = useState('');
  const [group, setGroup] = useState('');
  const [groups, setGroups] = useState<GroupOption[]>([]);
  const [search, setSearch] = useState('');
  const [users, setUsers] = useState<UserSummary[]>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [open, setOpen] = useState<string>();
  const shown = useRef(0);
  shown.current = users?.length ?? 0;

  const load = async (cursor?: string) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (status) q.set('status', status);
    if (group) q.set('group', group);
    if (search.trim()) q.set('search', search.trim());
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await api<{ users: UserSummary[]; next: string | null }>('GET', `/tenants/${enc(tenant)}/users?${q}`);
      setUsers((previous) => (cursor ? [...(previous ?? []), ...page.users] : page.users));
      setNext(page.next);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    const timer = setTimeout(() => void load(), 250);
    // The first page follows the sync as it goes; once more pages are shown, the list stays as loaded.
    const refresh = setInterval(() => {
      if (document.visibilityState !== 'hidden' && shown.current <= PAGE) void load();
    }, 10_000);
    return () => {
      clearTimeout(timer);
      clearInterval(refresh);
    };
  }, [tenant, status, group, search]);
  useEffect(() => {
    // The first 500 groups by name: enough for a picker; a bigger directory is searched by user instead.
    api<{ groups: GroupOption[] }>('GET', `/tenants/${enc(tenant)}/groups?limit=500`).then((g) => setGroups(g.groups)).catch(() => setGroups([]));
  }, [tenant]);

  return (
    <>
      <div class="filters">
        <label>Sync status{' '}
          <select value={status} onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value)}>
            {STATUSES.map((s) => <option key={s} value={s}>{s || 'any'}</option>)}
          </select>
        </label>
        {groups.length > 0 ? (
          <label>Group{' '}
            <select value={group} onChange={(e) => setGroup((e.currentTarget as HTMLSelectElement).value)}>
              <option value="">any</option>
              {groups.map((g) => <option key={g.id} value={g.id}>{`${g.displayName} (${g.users})`}</option>)}
            </select>
          </label>
        ) : null}
        <label>Search{' '}
          <input type="search" placeholder="userName or email starts with…" value={search} onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </div>
      <ErrorNote error={error} />
      {users && users.length === 0 ? <p class="muted">No users{status || group || search ? ' match' : ' yet'}.</p> : null}
      {users && users.length > 0 ? (
        <table class="users">
          <thead><tr><th scope="col">User</th><th scope="col">Active in the IdP</th><th scope="col">Sync</th><th scope="col">Last synced</th></tr></thead>
          <tbody>
            {users.flatMap((u) => [
              <tr key={u.id}>
                <td>
                  <button type="button" class="link" aria-expanded={open === u.id} onClick={() => setOpen(open === u.id ? undefined : u.id)}>{u.userName}</button>
                  {u.email && u.email !== u.userName ? <div class="muted small">{u.email}</div> : null}
                </td>
                <td>{u.active ? 'yes' : 'no'}{u.override?.blocked ? ' (blocked by an admin)' : ''}</td>
                <td><span class={`sync ${u.sync?.status ?? 'none'}`}>{u.sync?.status ?? 'not synced'}</span>{u.sync?.lastError ? <div class="error small">{u.sync.lastError}</div> : null}</td>
                <td>{time(u.sync?.syncedAt)}</td>
              </tr>,
              open === u.id ? <tr key={`${u.id}-detail`} class="detail-row"><td colSpan={4}><UserDetail tenant={tenant} id={u.id} onRetried={() => void load()} /></td></tr> : null,
            ])}
          </tbody>
        </table>
      ) : null}
      {next ? <button type="button" onClick={() => void load(next)}>Show more</button> : null}
    </>
  );
}
