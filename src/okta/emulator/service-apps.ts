/**
 * The org's OAuth service apps: what Okta recommends for machine-to-machine calls to its Management API
 * (developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp). Each app has a client id, the
 * public key of the pair that signs its client assertions (`private_key_jwt`, the only client
 * authentication the org authorization server accepts for Okta scopes) and the Okta scopes granted to it.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { newClientId } from './ids.js';

/** What registering a service app takes (`publicJwk` may be the private JWK: only its public part is kept). */
export interface ServiceAppRegistration {
  clientId?: string;
  publicJwk: JsonWebKey;
  /** Okta scopes granted to the app (`okta.users.manage`, `okta.groups.read`, …). */
  scopes: readonly string[];
}

/** A registered service app. */
export interface OktaServiceApp {
  clientId: string;
  publicKey: KeyObject;
  /** The key's `kid`, when the registered JWK has one: assertions naming another `kid` are refused. */
  keyId?: string;
  scopes: readonly string[];
}

/** Thrown when a registration is unusable (not a key, an unsupported key type, a duplicate client id). */
export class ServiceAppRegistrationError extends Error {
  override name = 'ServiceAppRegistrationError';
}

/** The registered service apps, by client id. */
export class OktaServiceApps {
  private readonly apps = new Map<string, OktaServiceApp>();

  /** Registers an app and returns its client id. */
  register(registration: ServiceAppRegistration): string {
    const clientId = registration.clientId ?? newClientId();
    if (this.apps.has(clientId)) throw new ServiceAppRegistrationError(`client id ${clientId} is already registered`);
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: registration.publicJwk, format: 'jwk' });
    } catch (err) {
      throw new ServiceAppRegistrationError(`publicJwk is not a usable JWK: ${(err as Error).message}`);
    }
    // Okta accepts RSA and EC keys for private_key_jwt.
    if (publicKey.asymmetricKeyType !== 'rsa' && publicKey.asymmetricKeyType !== 'ec') {
      throw new ServiceAppRegistrationError('publicJwk must be an RSA or EC key');
    }
    const keyId = typeof registration.publicJwk.kid === 'string' ? registration.publicJwk.kid : undefined;
    this.apps.set(clientId, {
      clientId,
      publicKey,
      ...(keyId !== undefined ? { keyId } : {}),
      scopes: [...registration.scopes],
    });
    return clientId;
  }

  get(clientId: string): OktaServiceApp | undefined {
    return this.apps.get(clientId);
  }

  /** Client ids in registration order. */
  list(): string[] {
    return [...this.apps.keys()];
  }
}
