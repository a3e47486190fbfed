import type { ScimRequest } from './api';

/**
 * A plain-language reading of a refused SCIM request, for the IT admin watching the live panel. The
 * server's own detail is shown beside it; this says what to change in the IdP.
 */
export function hintFor(request: ScimRequest): string | undefined {
  const detail = (request.errorDetail ?? '').toLowerCase();
  if (request.status === 401) {
    return request.tokenId
      ? 'The token has expired or was revoked: generate a new one and paste it into your IdP.'
      : 'Wrong or missing token: paste the token exactly as shown (some IdPs want "Bearer " in front of it, others not).';
  }
  if (request.status === 403) return 'The token may not do this: generate a token with all four scopes (users and groups, read and write).';
  if (request.status === 404 && detail.includes('no scim endpoint')) return 'Wrong URL: use the SCIM base URL exactly as shown, ending in /scim/v2/<tenant>, without /Users.';
  if (request.status === 400 && detail.includes('username')) return 'Your attribute mapping sends no userName: map the IdP\'s username (Entra: userPrincipalName, Okta: username) to userName.';
  if (request.status === 409 && request.scimType === 'uniqueness') return 'This userName already exists: the IdP should look users up before creating them (keep userName as the matching attribute).';
  if (request.status === 412) return 'The resource changed since the IdP last read it: the IdP will read it again and retry.';
  if (request.status === 413) return 'The request is larger than this service accepts: push fewer members per request.';
  if (request.status === 429) return 'Too many requests at once: the service slowed the IdP down, and the IdP retries on its own.';
  if (request.status >= 500) return 'A problem on our side: the IdP retries on its own. If it lasts, tell your provider the time shown.';
  if (request.status >= 400) return 'The IdP sent something this service refused: the detail says what.';
  return undefined;
}
