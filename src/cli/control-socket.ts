/**
 * The running server's control socket, for the embedded database only. PGlite admits one process, so
 * while `provisio serve` runs on a data directory, `provisio tenant create …` cannot open it — and in the
 * container, stopping the server to run a command stops the container. Instead the CLI hands its command
 * to the server over a Unix socket inside the data directory, and the server runs it in-process on its
 * own database handle, relaying what it prints and its exit code.
 *
 * Who may connect: the socket file is mode 0600 inside the data directory, so only the user that owns the
 * database files (or root) can — the same people who could read or rewrite those files directly.
 *
 * Protocol, one JSON document per line: the client sends `{"argv": [...], "cwd": "..."}`; the server
 * answers with any number of `{"out": text}` and `{"err": text}` lines, then `{"exit": code}`.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import type { CliIo } from './io.js';

/** The socket's name inside the data directory. */
export const CONTROL_SOCKET = 'provisio.sock';

/** Unix socket paths are limited to 107 bytes on Linux (`sun_path`). */
const MAX_SOCKET_PATH_BYTES = 107;
/** A command line is small; anything longer is not one of ours. */
const MAX_REQUEST_BYTES = 64 * 1024;
/** Commands that must not run inside the server. */
const NOT_FORWARDED = new Set(['serve', 'auth0-emulator']);

export type RunCommand = (argv: readonly string[], io: CliIo) => Promise<number>;

export interface ControlSocket {
  readonly path: string;
  close(): Promise<void>;
}

export function controlSocketPath(dataDir: string): string {
  return path.join(dataDir, CONTROL_SOCKET);
}

interface Request {
  argv: string[];
  cwd?: string;
}

function parseRequest(line: string): Request | undefined {
  try {
    const value = JSON.parse(line) as { argv?: unknown; cwd?: unknown };
    if (!Array.isArray(value.argv) || !value.argv.every((a) => typeof a === 'string')) return undefined;
    return { argv: value.argv as string[], ...(typeof value.cwd === 'string' ? { cwd: value.cwd } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * Listens on `<dataDir>/provisio.sock`. `base` is the server's own CLI context (environment, open
 * database, queue); each command runs with it and prints to the connection. Returns undefined, with a
 * warning, when the path is too long for a Unix socket.
 */
export async function startControlSocket(dataDir: string, run: RunCommand, base: Pick<CliIo, 'env' | 'server'>, logger: Logger): Promise<ControlSocket | undefined> {
  const socketPath = controlSocketPath(dataDir);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    logger.warn({ socketPath }, 'DATA_DIR is too long a path for the control socket: CLI commands cannot reach this server while it runs');
    return undefined;
  }
  const server = net.createServer((socket) => serveConnection(socket, run, base, logger));
  server.maxConnections = 4;
  try {
    await listen(server, socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    // Left by a server that was killed. We hold the data directory's lock, so no live server owns it.
    fs.rmSync(socketPath, { force: true });
    await listen(server, socketPath);
  }
  fs.chmodSync(socketPath, 0o600);
  return {
    path: socketPath,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function listen(server: net.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function serveConnection(socket: net.Socket, run: RunCommand, base: Pick<CliIo, 'env' | 'server'>, logger: Logger): void {
  let buffered = '';
  let started = false;
  const send = (message: object) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
  };
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  socket.on('data', (chunk: string) => {
    if (started) return;
    buffered += chunk;
    const newline = buffered.indexOf('\n');
    if (newline < 0) {
      if (buffered.length > MAX_REQUEST_BYTES) socket.destroy();
      return;
    }
    started = true;
    const request = parseRequest(buffered.slice(0, newline));
    if (!request) {
      send({ err: 'error: not a command' });
      send({ exit: 2 });
      socket.end();
      return;
    }
    if (NOT_FORWARDED.has(request.argv[0] ?? '')) {
      send({ err: `error: \`provisio ${request.argv[0]}\` cannot run while a server holds this data directory` });
      send({ exit: 1 });
      socket.end();
      return;
    }
    const io: CliIo = {
      ...base,
      ...(request.cwd ? { cwd: request.cwd } : {}),
      out: (text) => send({ out: text }),
      err: (text) => send({ err: text }),
    };
    // The command name only: arguments can carry a token's label or a file name, never worth logging.
    logger.info({ command: request.argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ') }, 'CLI command run through the control socket');
    run(request.argv, io)
      .catch(() => 1)
      .then((code) => {
        send({ exit: code });
        socket.end();
      });
  });
}

/** Whether a server answers on `<dataDir>/provisio.sock` (a live server holds the data directory). */
export function serverAnswers(dataDir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(controlSocketPath(dataDir));
    const done = (answers: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    const timer = setTimeout(() => done(false), 3000);
    socket.on('connect', () => done(true));
    socket.on('error', () => done(false));
  });
}

/**
 * Hands `argv` to the server listening on `<dataDir>/provisio.sock` and relays what it prints. Returns the
 * command's exit code, or undefined when no server answers there (then the caller reports the lock).
 */
export function forwardToServer(dataDir: string, argv: readonly string[], io: CliIo): Promise<number | undefined> {
  const socketPath = controlSocketPath(dataDir);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (code: number | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      socket.destroy();
      resolve(code);
    };
    const socket = net.createConnection(socketPath);
    // A server that accepts but never answers the connection is as good as none.
    const connectTimer = setTimeout(() => finish(undefined), 3000);
    let buffered = '';
    let answered = false;
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      clearTimeout(connectTimer);
      socket.write(`${JSON.stringify({ argv, cwd: io.cwd ?? process.cwd() })}\n`);
    });
    socket.on('data', (chunk: string) => {
      answered = true;
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let message: { out?: unknown; err?: unknown; exit?: unknown };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          continue;
        }
        if (typeof message.out === 'string') io.out(message.out);
        if (typeof message.err === 'string') io.err(message.err);
        if (typeof message.exit === 'number') finish(message.exit);
      }
    });
    socket.on('error', () => finish(undefined));
    // The server went away mid-command: the command's outcome is unknown, which is a failure.
    socket.on('close', () => {
      if (settled) return;
      if (answered) io.err('error: the server closed the connection before the command finished; its outcome is unknown');
      finish(answered ? 1 : undefined);
    });
  });
}
