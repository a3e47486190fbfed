/** The part of Node's ServerResponse this needs. */
interface Response {
  readonly writableFinished: boolean;
  readonly closed?: boolean;
  once(event: 'close', listener: () => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
}

/**
 * Subscribes `gone` to the response being closed before it was finished: the client went away (timed
 * out, cancelled) and nobody will read the answer. Returns the unsubscribe. A plain listener rather than
 * an AbortSignal: an AbortController costs microseconds per request on the list path.
 */
export function onClientGone(response: Response, gone: () => void): () => void {
  if (response.closed && !response.writableFinished) {
    gone();
    return () => undefined;
  }
  const listener = () => {
    if (!response.writableFinished) gone();
  };
  response.once('close', listener);
  return () => void response.removeListener('close', listener);
}
