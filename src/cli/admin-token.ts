import type { Command } from 'commander';
import { adminTokenInfo, issueAdminToken } from '../admin/admin-tokens.js';
import { requireTenant } from '../admin/tenants.js';
import { listAdminTokens, revokeAdminToken } from '../db/admin-tokens.js';
import { CliError, printJson, withDatabase, type CliIo } from './io.js';

/** `provisio admin-token`: the first operator token of a deployment comes from here (database access = trust). */
export function registerAdminTokenCommands(program: Command, io: CliIo): void {
  const adminToken = program.command('admin-token').description('manage admin API tokens (operator, or delegated to one tenant\'s admins)');

  adminToken
    .command('issue')
    .description('issue an admin API token (shown once)')
    .option('--tenant <name>', 'delegate: the token reaches only this tenant (give it to the customer\'s admin)')
    .option('--label <text>', 'what the token is for')
    .option('--expires-in <duration>', 'lifetime: 90d, 12h, 30m or an ISO date (default: never)')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; label?: string; expiresIn?: string; json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const tenant = opts.tenant ? await requireTenant(db, opts.tenant) : undefined;
        const issued = await issueAdminToken(db, { ...(opts.label ? { label: opts.label } : {}), ...(tenant ? { tenant } : {}), ...(opts.expiresIn ? { expiresIn: opts.expiresIn } : {}) });
        if (opts.json) return io.out(JSON.stringify({ ...issued.info, token: issued.token }));
        io.out(`Admin token ${issued.info.id} issued (${tenant ? `tenant "${tenant.name}" only` : 'operator: every tenant'}` +
          `${issued.info.expiresAt ? `, expires ${issued.info.expiresAt}` : ''}).\n  ${issued.token}\n  (shown once)`);
      });
    });

  adminToken
    .command('list')
    .description('list admin tokens (never their secrets)')
    .option('--tenant <name>', 'only the tokens delegated to this tenant')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const tenantId = opts.tenant ? (await requireTenant(db, opts.tenant)).id : undefined;
        const tokens = (await listAdminTokens(db, tenantId)).map((t) => adminTokenInfo(t));
        if (opts.json) return printJson(io, tokens);
        if (tokens.length === 0) return io.out('No admin tokens: provisio admin-token issue');
        for (const t of tokens) io.out(`${t.id}\t${t.prefix}…\t${t.status}\t${t.tenant ?? 'operator'}\t${t.label}\t${t.expiresAt ?? 'no expiry'}`);
      });
    });

  adminToken
    .command('revoke <token-id>')
    .description('revoke an admin token (effective at once)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      if (!/^[0-9a-f-]{36}$/i.test(id)) throw new CliError(`"${id}" is not a token id (see provisio admin-token list)`, 2);
      await withDatabase(io, async ({ db }) => {
        const revoked = await revokeAdminToken(db, id);
        if (!revoked) throw new CliError(`no admin token ${id}`);
        if (opts.json) return printJson(io, adminTokenInfo(revoked));
        io.out(`Admin token ${id} revoked.`);
      });
    });
}
