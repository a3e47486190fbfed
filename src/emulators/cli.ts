/** What the `auth0-emulator` and `okta-emulator` commands share: their options, stdout and shutdown. */
import { InvalidArgumentError, type Command } from 'commander';

/** Where a command's JSON line goes, and a hook for in-process callers (tests) to get the running emulator. */
export interface EmulatorCommandIo<Running> {
  out(text: string): void;
  onStarted?(running: Running): void;
}

/** Writes one line to stdout (the command's JSON line). */
export function writeLine(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** `--port`: 0–65535, 0 picking a free port. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('port must be 0–65535');
  return port;
}

/**
 * Adds an emulator's command to `program` with `--port` (default 0, a free one) and `--host` (default
 * loopback: the emulators are unauthenticated test tools); the caller adds its own options and action.
 */
export function emulatorCommand(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .option('--port <port>', 'port to listen on (0 picks a free one)', parsePort, 0)
    .option('--host <host>', 'address to bind', '127.0.0.1');
}

/** Closes a running emulator once, on the first SIGINT or SIGTERM. */
export function closeOnSignal(running: { close(): Promise<void> }): void {
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    void running.close();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
