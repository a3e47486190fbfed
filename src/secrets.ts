import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Encryption of secrets Provisio must be able to read back (an Auth0 connection's inbound SCIM token):
 * AES-256-GCM with a random 96-bit IV per value, stored as `v1:<iv>:<tag>:<ciphertext>` (base64url).
 * Tokens that Provisio only verifies (its own SCIM tokens) are hashed instead, never encrypted.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** From `PROVISIO_ENCRYPTION_KEY` (32 bytes, base64 or hex). */
  static fromKey(encoded: string): SecretBox {
    const key = /^[0-9a-f]{64}$/i.test(encoded) ? Buffer.from(encoded, 'hex') : Buffer.from(encoded, 'base64');
    if (key.length !== 32) throw new Error('PROVISIO_ENCRYPTION_KEY must be 32 bytes (64 hex characters or base64)');
    return new SecretBox(key);
  }

  /**
   * Zero-config only: a key generated on first start and kept beside the embedded database (mode 0600).
   * Production sets PROVISIO_ENCRYPTION_KEY so the key never sits next to the data it protects.
   */
  static fromDataDir(dataDir: string): SecretBox {
    const file = path.join(dataDir, 'encryption.key');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(dataDir, { recursive: true });
      fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    }
    return SecretBox.fromKey(fs.readFileSync(file, 'utf8').trim());
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join(':');
  }

  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split(':');
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** The configured key, or (embedded database only) the one kept in the data directory; else none. */
export function secretBoxFor(config: { encryptionKey?: string; databaseUrl?: string; dataDir: string }): SecretBox | undefined {
  if (config.encryptionKey) return SecretBox.fromKey(config.encryptionKey);
  if (!config.databaseUrl) return SecretBox.fromDataDir(config.dataDir);
  return undefined;
}
