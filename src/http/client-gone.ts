/**
 * An AbortSignal that aborts when the HTTP response is closed before it was finished: the client went
 * away (timed out, cancelled) and nobody will read the answer.
 */
export function clientGone(response: { once(event: 'close', listener: () => void): unknown; readonly writableFinished: boolean; readonly closed?: boolean }): AbortSignal {
  const controller = new AbortController();
  if (response.closed && !response.writableFinished) controller.abort();
  else response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}
