import net from 'node:net';
import t from 'tap';
import { testApp } from '../helpers/app.js';

/** Opens a raw connection, writes `chunks` and resolves with how long until the server closed it, and what it said. */
function slowClient(port: number, first: string, giveUpMs: number): Promise<{ closedAfterMs: number; response: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let response = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(first));
    socket.on('data', (data) => (response += data.toString()));
    const guard = setTimeout(() => socket.destroy(), giveUpMs);
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ closedAfterMs: Date.now() - started, response });
    });
    socket.on('error', () => undefined);
  });
}

t.test('connections that never finish their request are closed', async (t) => {
  const { app } = await testApp(t, { HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_IDLE_TIMEOUT_MS: '3000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as net.AddressInfo;

  const [headers, body, idle] = await Promise.all([
    // Slowloris: headers that never end.
    slowClient(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', 10_000),
    // A body announced and never sent.
    slowClient(port, 'POST /scim/v2/acme/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/scim+json\r\nContent-Length: 1000\r\n\r\n{"a":', 10_000),
    // A connection that says nothing at all.
    slowClient(port, '', 10_000),
  ]);
  t.ok(headers.closedAfterMs < 4000, `unfinished headers: closed after ${headers.closedAfterMs} ms`);
  t.match(headers.response, /^HTTP\/1.1 408/, 'with a 408');
  t.ok(body.closedAfterMs < 5000, `unfinished body: closed after ${body.closedAfterMs} ms`);
  t.ok(idle.closedAfterMs < 6000, `silent connection: closed after ${idle.closedAfterMs} ms`);

  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.equal(res.status, 200, 'ordinary requests are served');
});
