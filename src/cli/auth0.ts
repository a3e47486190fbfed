/**
 * `provisio auth0 check` (which Management API scopes the M2M application really has, asked of Auth0) and
 * `provisio action deploy` (create or update, deploy and bind the Post-Login Action). Both talk to the
 * configured Auth0 tenant (AUTH0_DOMAIN/CLIENT_ID/CLIENT_SECRET, or AUTH0_BASE_URL for an emulator) and
 * need no database.
 */
import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import { ActionDeployError, deployPostLoginAction, readPostLoginActionCode, type DeployResult, type FailMode } from '../auth0/action-deploy.js';
import { RateBudget } from '../auth0/rate-budget.js';
import type { ScopeCheckResult, ScopeCheckTarget } from '../auth0/scope-check.js';
import { loadConfig, type Config } from '../config.js';
import { CliError, printJson, type CliIo } from './io.js';

const NO_AUTH0 = 'set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (or AUTH0_BASE_URL for the emulator)';

function parseFailMode(value: string): FailMode {
  if (value !== 'closed' && value !== 'open') throw new InvalidArgumentError('closed or open');
  return value;
}

function parseTimeout(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 100 || n > 15_000) throw new InvalidArgumentError('100 to 15000 (ms)');
  return n;
}

/** The credentials to check: flags over the configured ones; the emulator's base URL only for its own domain. */
export function scopeCheckTarget(config: Config, flags: { domain?: string; clientId?: string; clientSecret?: string }): ScopeCheckTarget | undefined {
  const configured = config.auth0;
  const domain = flags.domain ?? configured?.domain;
  const clientId = flags.clientId ?? configured?.clientId;
  const clientSecret = flags.clientSecret ?? configured?.clientSecret;
  if (!domain || !clientId || !clientSecret) return undefined;
  const baseUrl = configured?.baseUrl && configured.domain === domain ? configured.baseUrl : undefined;
  return { domain, clientId, clientSecret, ...(baseUrl ? { baseUrl } : {}) };
}

/** Human lines for a scope check. */
export function describeScopeCheck(result: ScopeCheckResult): string[] {
  const lines = [`Auth0 ${result.domain}, client ${result.clientId}: ${result.status} — ${result.message}`];
  for (const f of result.families) {
    const tag = f.status === 'ok' ? 'ok     ' : f.status === 'missing' ? 'MISSING' : 'ERROR  ';
    const detail = f.status === 'missing' ? f.missing.join(', ')
      : f.status === 'error' ? f.scopes.filter((s) => s.status === 'error').map((s) => `${s.scope}: ${s.message ?? 'error'}`).join('; ')
        : f.scopes.map((s) => s.scope).join(' ');
    lines.push(`  ${tag} ${f.label}: ${detail}`);
    if (f.status !== 'ok') lines.push(`          needed for ${f.neededFor}`);
  }
  if (result.tokenScopes) lines.push(`  (the token's scope claim: ${result.tokenScopes.join(' ') || 'none'})`);
  return lines;
}

/** One line per step of a deploy. */
export function describeDeploy(result: DeployResult): string[] {
  const version = `version ${result.versionNumber ?? result.versionId}`;
  return [
    `Action ${result.actionName} (${result.actionId}) ${result.action}; ${result.deployed ? `${version} deployed` : `${version} already deployed, nothing to deploy`}.`,
    `post-login trigger: ${result.bound === 'added' ? 'bound (appended after the other Actions)' : 'already bound'}${result.bindings.length ? `; other Actions in the flow: ${result.bindings.join(', ')}` : ''}.`,
  ];
}

export function registerAuth0Commands(program: Command, io: CliIo): void {
  const auth0 = program.command('auth0').description('the Auth0 tenant Provisio syncs into');
  auth0
    .command('check')
    .description('ask Auth0 which Management API scopes the M2M application has, one harmless call per scope Provisio needs')
    .option('--domain <host>', 'Auth0 domain (default AUTH0_DOMAIN)')
    .option('--client-id <id>', 'M2M client id (default AUTH0_CLIENT_ID)')
    .option('--client-secret <secret>', 'M2M client secret (default AUTH0_CLIENT_SECRET; prefer the variable: arguments show in ps)')
    .option('--skip-actions', 'do not check the Actions scopes (only `action deploy` needs them)')
    .option('--json', 'print JSON')
    .action(async (opts: { domain?: string; clientId?: string; clientSecret?: string; skipActions?: boolean; json?: boolean }) => {
      const config = loadConfig(io.env);
      const target = scopeCheckTarget(config, opts);
      if (!target) throw new CliError(`nothing to check: ${NO_AUTH0}, or give --domain, --client-id and --client-secret`, 2);
      const budget = config.auth0 && config.auth0.domain === target.domain ? new RateBudget({ plan: config.auth0.plan }) : undefined;
      // The SDK is imported by the commands that use it only (src/auth0/sdk.ts).
      const { checkAuth0Scopes } = await import('../auth0/scope-check.js');
      const result = await checkAuth0Scopes(target, { actions: !opts.skipActions, ...(budget ? { budget } : {}) });
      if (opts.json) printJson(io, result);
      else for (const line of describeScopeCheck(result)) io.out(line);
      if (result.status !== 'ok') throw new CliError(result.status === 'missing' ? 'scopes are missing (see above)' : result.message, 1);
    });

  const action = program.command('action').description('the Auth0 Post-Login Action (action/post-login.js)');
  action
    .command('deploy')
    .description('create or update the Post-Login Action in Auth0, set its secrets, deploy it and bind it to the post-login trigger (idempotent)')
    .option('--url <public url>', 'Provisio\'s public URL the Action calls (default PUBLIC_URL; https unless localhost)')
    .option('--fail-mode <mode>', 'closed (deny when Provisio is unreachable) or open', parseFailMode, 'closed' as FailMode)
    .option('--timeout-ms <ms>', 'how long the Action waits for Provisio', parseTimeout, 5000)
    .option('--code <file>', 'the Action\'s source (default action/post-login.js of this installation)')
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; failMode: FailMode; timeoutMs: number; code?: string; json?: boolean }) => {
      const config = loadConfig(io.env);
      if (!config.auth0) throw new CliError(`action deploy writes to Auth0: ${NO_AUTH0}`, 2);
      if (!config.actionSecret) throw new CliError('set PROVISIO_ACTION_SECRET: it becomes the Action\'s PROVISIO_SECRET (openssl rand -base64 48)', 2);
      const provisioUrl = opts.url ?? config.publicUrl;
      if (!provisioUrl) throw new CliError('give --url <public url> or set PUBLIC_URL: the Action calls Provisio there', 2);
      try {
        const code = await readPostLoginActionCode(opts.code ? path.resolve(io.cwd ?? process.cwd(), opts.code) : undefined);
        const { createManagementClient } = await import('../auth0/client.js');
        const result = await deployPostLoginAction(
          createManagementClient({ ...config.auth0, timeoutSeconds: 15 }),
          { code, provisioUrl, actionSecret: config.actionSecret, failMode: opts.failMode, timeoutMs: opts.timeoutMs },
          { budget: new RateBudget({ plan: config.auth0.plan }), secrets: [config.auth0.clientSecret] },
        );
        if (opts.json) return printJson(io, result);
        for (const line of describeDeploy(result)) io.out(line);
      } catch (err) {
        if (err instanceof ActionDeployError) throw new CliError(err.message, err.code === 'invalid_input' || err.code === 'no_code' ? 2 : 1);
        throw err;
      }
    });
}
