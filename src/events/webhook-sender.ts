/**
 * One webhook delivery: the event's JSON signed per the Standard Webhooks specification (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`, HMAC-SHA256 by the `standardwebhooks` package) and POSTed with
 * undici through a connection whose address is checked (destination.ts). Redirects are not followed, every
 * wait has a deadline, and at most a few kilobytes of the receiver's answer are read. The answer says
 * whether to retry and when: a 429 or 503 with `Retry-After` is honoured.
 */
import { Agent, request } from 'undici';
import { Webhook } from 'standardwebhooks';
import { checkDestinationUrl, guardedLookup, STRICT_DESTINATIONS, type DestinationPolicy } from './destination.js';

export interface WebhookMessage {
  /** Unique per event and the same on every attempt: the receiver's idempotency key. */
  readonly id: string;
  /** When the attempt is signed (the receiver refuses old timestamps: replay protection). */
  readonly timestamp: Date;
  /** The exact bytes sent and signed. */
  readonly body: string;
}

export interface DeliveryResult {
  /** 2xx. */
  readonly delivered: boolean;
  /** The receiver's status, or undefined when no answer came (refused, timed out, reset). */
  readonly status?: number;
  /** Why it failed, in words for the endpoint's failure list. */
  readonly error?: string;
  /** Whether another attempt can succeed (not for a refused destination or a 4xx other than 408/409/425/429). */
  readonly retryable: boolean;
  /** The receiver's `Retry-After`, in ms from now. */
  readonly retryAfterMs?: number;
  readonly durationMs: number;
}

export interface WebhookSenderOptions {
  readonly policy?: DestinationPolicy;
  /** The whole attempt: connect, send, the answer's headers and the body read (default 10 s). */
  readonly timeoutMs?: number;
  /** `User-Agent` sent (the receiver's logs say who called). */
  readonly userAgent?: string;
  /** Connections kept per receiver origin (at least the requests one endpoint may have in flight). */
  readonly connections?: number;
}

/** Bytes of the receiver's answer read at most: it is only kept as a hint in the failure list. */
const ANSWER_BYTES = 4096;
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

/** `Retry-After` in seconds or as an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The `webhook-signature` header for `message`: one `v1,<base64>` per secret, space-separated. While a
 * rotated secret overlaps with the new one both sign, so a receiver holding either verifies.
 */
export function signatureHeader(secrets: readonly string[], message: WebhookMessage): string {
  return secrets.map((secret) => new Webhook(secret).sign(message.id, message.timestamp, message.body)).join(' ');
}

export class WebhookSender {
  private readonly agent: Agent;
  private readonly policy: DestinationPolicy;
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(options: WebhookSenderOptions = {}) {
    this.policy = options.policy ?? STRICT_DESTINATIONS;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.userAgent = options.userAgent ?? 'Provisio-Webhooks/1';
    this.agent = new Agent({
      connect: { lookup: guardedLookup(this.policy), timeout: this.timeoutMs },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      // One endpoint's slow receiver holds its own connections only.
      connections: options.connections ?? 16,
    });
  }

  /** Sends one signed attempt; never throws (every failure is a result). */
  async send(url: string, secrets: readonly string[], message: WebhookMessage): Promise<DeliveryResult> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    let target: URL;
    try {
      target = checkDestinationUrl(url, this.policy);
    } catch (err) {
      return { delivered: false, error: (err as Error).message, retryable: false, durationMs: took() };
    }
    try {
      const response = await request(target, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.userAgent,
          'webhook-id': message.id,
          'webhook-timestamp': String(Math.floor(message.timestamp.getTime() / 1000)),
          'webhook-signature': signatureHeader(secrets, message),
        },
        body: message.body,
        // undici's request follows no redirect (that takes its redirect interceptor): a 3xx is an answer.
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const answer = await readCapped(response.body, ANSWER_BYTES);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { delivered: true, status, retryable: false, durationMs: took() };
      const after = retryAfterMs(response.headers['retry-after']);
      const redirect = status >= 300 && status < 400 ? ` (redirects are not followed: ${String(response.headers.location ?? '').slice(0, 200)})` : '';
      return {
        delivered: false,
        status,
        error: `answered ${status}${redirect}${answer ? `: ${answer}` : ''}`,
        retryable: status >= 500 || RETRYABLE_4XX.has(status) || (status >= 300 && status < 400),
        ...(after !== undefined ? { retryAfterMs: after } : {}),
        durationMs: took(),
      };
    } catch (err) {
      const e = err as Error & { code?: string; cause?: Error & { code?: string } };
      const refused = e.name === 'DestinationError' || e.cause?.name === 'DestinationError';
      const why = e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT'
        ? `no answer within ${this.timeoutMs} ms`
        : (e.cause?.message ?? e.message);
      return { delivered: false, error: why, retryable: !refused, durationMs: took() };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The first `max` bytes of a body as text, the rest discarded (the connection is then reusable). */
async function readCapped(body: AsyncIterable<Buffer> & { destroy?: () => void }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < max) chunks.push(chunk.subarray(0, max - size));
    size += chunk.length;
    if (size > 64 * max) {
      // A receiver streaming megabytes back is not worth reading: drop the connection.
      body.destroy?.();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 300);
}
