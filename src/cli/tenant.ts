import type { Command } from 'commander';
import { createTenant, requireTenant, scimBaseUrl, tenantInfo } from '../admin/tenants.js';
import { deleteTenant, listTenants, updateTenantDisplayName } from '../db/tenants.js';
import { advertisedUrl, CliError, printJson, withDatabase, type CliIo } from './io.js';

export function registerTenantCommands(program: Command, io: CliIo): void {
  const tenant = program.command('tenant').description('manage tenants (one per customer directory)');

  tenant
    .command('create <name>')
    .description('create a tenant and its first SCIM token (shown once)')
    .option('--display-name <text>', 'human-readable name')
    .option('--scopes <scopes>', 'token scopes, comma-separated (default: all)')
    .option('--expires-in <duration>', 'token lifetime: 90d, 12h, 30m or an ISO date (default: never)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { displayName?: string; scopes?: string; expiresIn?: string; json?: boolean }) => {
      await withDatabase(io, async ({ db }, config) => {
        const created = await createTenant(db, {
          name,
          displayName: opts.displayName,
          token: { label: 'initial', scopes: opts.scopes ? [opts.scopes] : undefined, expiresIn: opts.expiresIn },
        });
        const result = { tenant: created.tenant, scimBaseUrl: scimBaseUrl(advertisedUrl(config), name), token: created.token };
        if (opts.json) return io.out(JSON.stringify(result));
        io.out(`Tenant "${name}" created.\n  SCIM base URL: ${result.scimBaseUrl}\n  Bearer token:  ${created.token}\n` +
          '  (the token is shown once; store it in your IdP now)');
      });
    });

  tenant
    .command('list')
    .description('list tenants')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }, config) => {
        const rows = (await listTenants(db)).map((row) => ({ ...tenantInfo(row), scimBaseUrl: scimBaseUrl(advertisedUrl(config), row.name) }));
        if (opts.json) return printJson(io, rows);
        if (rows.length === 0) return io.out('No tenants yet: provisio tenant create <name>');
        for (const t of rows) io.out(`${t.name}\t${t.displayName}\t${t.scimBaseUrl}`);
      });
    });

  tenant
    .command('show <name>')
    .description('show one tenant')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }, config) => {
        const t = { ...tenantInfo(await requireTenant(db, name)), scimBaseUrl: scimBaseUrl(advertisedUrl(config), name) };
        if (opts.json) return printJson(io, t);
        io.out(`${t.name} (${t.displayName})\n  id: ${t.id}\n  created: ${t.createdAt}\n  SCIM base URL: ${t.scimBaseUrl}`);
      });
    });

  tenant
    .command('update <name>')
    .description('change a tenant\'s display name')
    .requiredOption('--display-name <text>', 'human-readable name')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { displayName: string; json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, name);
        const updated = await updateTenantDisplayName(db, row.id, opts.displayName);
        const t = tenantInfo(updated ?? row);
        if (opts.json) return printJson(io, t);
        io.out(`Tenant "${name}" updated.`);
      });
    });

  tenant
    .command('delete <name>')
    .description('delete a tenant with its tokens and directory (irreversible)')
    .option('--yes', 'confirm the deletion')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { yes?: boolean; json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, name);
        if (!opts.yes) {
          throw new CliError(`This deletes tenant "${name}" and all its users, groups and tokens. Re-run with --yes to confirm.`, 2);
        }
        await deleteTenant(db, row.id);
        if (opts.json) return printJson(io, { deleted: name });
        io.out(`Tenant "${name}" deleted.`);
      });
    });
}
