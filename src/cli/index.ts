#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { pathToFileURL } from 'node:url';
import { TenantInputError } from '../admin/tenants.js';
import { TokenInputError } from '../admin/tokens.js';
import { ConfigError } from '../config.js';
import { DatabaseLockedError } from '../db/client.js';
import { SyncConfigError } from '../sync/config.js';
import { CliError, processIo, type CliIo } from './io.js';
import { forwardToServer } from './control-socket.js';
import { registerAdminTokenCommands } from './admin-token.js';
import { registerAuth0Commands } from './auth0.js';
import { registerAuth0EmulatorCommand } from './auth0-emulator.js';
import { registerOktaEmulatorCommand } from './okta-emulator.js';
import { registerMigrateCommand } from './migrate.js';
import { registerOktaCommands } from './okta.js';
import { registerServeCommand } from './serve.js';
import { registerSetupLinkCommands } from './setup-link.js';
import { registerSyncCommands } from './sync.js';
import { registerTenantCommands } from './tenant.js';
import { registerTokenCommands } from './token.js';
import { registerWebhookCommands } from './webhook.js';

/** Builds the `provisio` command tree; tests run it in-process with their own `io`. */
export function createProgram(io: CliIo = processIo): Command {
  const program = new Command('provisio')
    .description('Multi-tenant SCIM 2.0 provisioning server for Auth0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  registerServeCommand(program, io, runCli);
  registerMigrateCommand(program, io);
  registerTenantCommands(program, io);
  registerTokenCommands(program, io);
  registerAdminTokenCommands(program, io);
  registerSetupLinkCommands(program, io);
  registerSyncCommands(program, io);
  registerAuth0EmulatorCommand(program, io);
  registerOktaEmulatorCommand(program, io);
  registerAuth0Commands(program, io);
  registerWebhookCommands(program, io);
  registerOktaCommands(program, io);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 failure, 2 bad usage or input. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    await createProgram(io).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliError) {
      io.err(`error: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof ConfigError || err instanceof TenantInputError || err instanceof TokenInputError || err instanceof SyncConfigError) {
      io.err(`error: ${err.message}`);
      return 2;
    }
    if (err instanceof DatabaseLockedError) {
      // The holder is usually the running server: it runs the command for us on its own connection.
      const forwarded = io.server ? undefined : await forwardToServer(err.dataDir, argv, io);
      if (forwarded !== undefined) return forwarded;
      io.err(`error: ${err.message}`);
      return 1;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '3D000' || code === '28P01') {
      io.err(`error: cannot reach the database (${code}): ${(err as Error).message}`);
      return 1;
    }
    io.err(`error: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await runCli(process.argv.slice(2));
  if (code !== 0) process.exitCode = code;
}
