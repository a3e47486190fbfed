import type { Command } from 'commander';
import { requireTenant } from '../admin/tenants.js';
import { issueToken, SCIM_SCOPES, tokenInfo } from '../admin/tokens.js';
import { listTokens, revokeToken } from '../db/tokens.js';
import { CliError, printJson, withDatabase, type CliIo } from './io.js';

export function registerTokenCommands(program: Command, io: CliIo): void {
  const token = program.command('token').description('manage SCIM bearer tokens (several may be active at once, for rotation)');

  token
    .command('issue <tenant>')
    .description('issue a new SCIM token for a tenant (shown once)')
    .option('--label <text>', 'what the token is for, e.g. "entra"', 'scim')
    .option('--scopes <scopes>', `comma-separated: ${SCIM_SCOPES.join(', ')} (default: all)`)
    .option('--expires-in <duration>', 'lifetime: 90d, 12h, 30m or an ISO date (default: never)')
    .option('--json', 'print JSON')
    .action(async (tenant: string, opts: { label: string; scopes?: string; expiresIn?: string; json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, tenant);
        const issued = await issueToken(db, row.id, { label: opts.label, scopes: opts.scopes ? [opts.scopes] : undefined, expiresIn: opts.expiresIn });
        if (opts.json) return io.out(JSON.stringify({ ...issued.info, token: issued.token }));
        io.out(`Token ${issued.info.id} issued for "${tenant}" (scopes: ${issued.info.scopes.join(', ')}` +
          `${issued.info.expiresAt ? `, expires ${issued.info.expiresAt}` : ''}).\n  ${issued.token}\n  (shown once)`);
      });
    });

  token
    .command('list <tenant>')
    .description('list a tenant\'s tokens (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (tenant: string, opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, tenant);
        const tokens = (await listTokens(db, row.id)).map((t) => tokenInfo(t));
        if (opts.json) return printJson(io, tokens);
        for (const t of tokens) io.out(`${t.id}\t${t.prefix}…\t${t.status}\t${t.label}\t${t.scopes.join(',')}\t${t.expiresAt ?? 'no expiry'}`);
      });
    });

  token
    .command('revoke <tenant> <tokenId>')
    .description('revoke a token (takes effect within SCIM_TOKEN_CACHE_MS on running servers)')
    .option('--json', 'print JSON')
    .action(async (tenant: string, tokenId: string, opts: { json?: boolean }) => {
      await withDatabase(io, async ({ db }) => {
        const row = await requireTenant(db, tenant);
        if (!/^[0-9a-f-]{36}$/i.test(tokenId)) throw new CliError(`"${tokenId}" is not a token id (see provisio token list ${tenant})`, 2);
        const revoked = await revokeToken(db, row.id, tokenId);
        if (!revoked) throw new CliError(`tenant "${tenant}" has no token ${tokenId}`);
        if (opts.json) return printJson(io, tokenInfo(revoked));
        io.out(`Token ${tokenId} revoked.`);
      });
    });
}
