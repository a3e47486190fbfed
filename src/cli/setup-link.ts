import type { Command } from 'commander';
import { requireTenant } from '../admin/tenants.js';
import { createSetupLink, createSignInCode, setupLinkInfo, signInUrl } from '../admin/setup-links.js';
import { listAdminTokens, revokeAdminToken } from '../db/admin-tokens.js';
import { advertisedUrl, CliError, printJson, withDatabase, type CliIo } from './io.js';

/** `provisio setup-link …` (customer setup links) and `provisio console-link` (an operator's one-time sign-in). */
export function registerSetupLinkCommands(program: Command, io: CliIo): void {
  const setupLink = program.command('setup-link').description('customer setup links: the customer\'s IT admin connects their IdP in the web console');

  setupLink
    .command('create <tenant>')
    .description('create a setup link for one tenant (shown once; send it to the customer\'s IT admin)')
    .option('--expires <duration>', 'lifetime: 7d (default), 48h, 30m or an ISO date; at most 90 days')
    .option('--label <text>', 'who or what the link is for')
    .option('--json', 'print JSON')
    .action(async (tenantName: string, opts: { expires?: string; label?: string; json?: boolean }) => {
      await withDatabase(io, async ({ db }, config) => {
        const tenant = await requireTenant(db, tenantName);
        const created = await createSetupLink(db, advertisedUrl(config), tenant, { ...(opts.label ? { label: opts.label } : {}), ...(opts.expires ? { expiresIn: opts.expires } : {}) });
        if (opts.json) return io.out(JSON.stringify({ ...created.info, url: created.url }));
        io.out(`Setup link ${created.info.id} for tenant "${tenant.name}", valid until ${created.info.expiresAt}:\n  ${created.url}\n  (shown once; revoke with: provisio setup-link revoke ${tenant.name} ${created.info.id})`);
      });
    });

  setupLink
    .command('list <tenant>')
    .description('list a tenant\'s setup links (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (tenantName: string, opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const tenant = await requireTenant(db, tenantName);
        const links = (await listAdminTokens(db, tenant.id, 'setup-link')).map((row) => setupLinkInfo(row));
        if (opts.json) return printJson(io, links);
        if (links.length === 0) return io.out(`No setup links for "${tenant.name}": provisio setup-link create ${tenant.name}`);
        for (const l of links) io.out(`${l.id}\t${l.prefix}…\t${l.status}\t${l.label}\texpires ${l.expiresAt}\tlast used ${l.lastUsedAt ?? 'never'}`);
      });
    });

  setupLink
    .command('revoke <tenant> <link-id>')
    .description('revoke a setup link (effective at once)')
    .option('--json', 'print JSON')
    .action(async (tenantName: string, id: string, opts: { json?: boolean }) => {
      if (!/^[0-9a-f-]{36}$/i.test(id)) throw new CliError(`"${id}" is not a setup link id (see provisio setup-link list ${tenantName})`, 2);
      await withDatabase(io, async ({ db }) => {
        const tenant = await requireTenant(db, tenantName);
        const revoked = await revokeAdminToken(db, id, 'setup-link', tenant.id);
        if (!revoked) throw new CliError(`no setup link ${id} in tenant "${tenant.name}"`);
        if (opts.json) return printJson(io, setupLinkInfo(revoked));
        io.out(`Setup link ${id} revoked.`);
      });
    });

  program
    .command('console-link')
    .description('print a one-time operator sign-in link for the web console (valid for an hour)')
    .action(async () => {
      await withDatabase(io, async ({ db }, config) => {
        io.out(signInUrl(advertisedUrl(config), await createSignInCode(db)));
      });
    });
}
