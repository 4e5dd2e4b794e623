/**
 * Secrets at rest and in job payloads: AES-256-GCM with a key shared by the API and the workers.
 * Tokens are versioned (`v1:<iv>:<tag>:<ciphertext>`, base64url) so the format can change without
 * breaking what is already stored.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The key used when JUNCTION_SECRET_KEY is not set outside production. It is public, so secrets
 * encrypted with it are not protected: the API and the worker warn loudly when they use it.
 */
export const DEVELOPMENT_SECRET_KEY = '6a756e6374696f6e2d646576656c6f706d656e742d6b65792d6e6f742d736166';

/** Reads a 32-byte key written as 64 hex digits or as base64/base64url; throws saying what is expected. */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new Error(
    `expected a ${KEY_BYTES}-byte key as 64 hex digits or base64 (e.g. from \`openssl rand -base64 32\`)`,
  );
}

export function isEncryptedSecret(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(`${VERSION}:`) && value.split(':').length === 4;
}

export function encryptSecret(plaintext: string, key: Buffer): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [
    VERSION,
    iv.toString('base64url'),
    tag.toString('base64url'),
    ciphertext.toString('base64url'),
  ].join(':');
}

/** Throws when the token is malformed, was made with another key or was tampered with. */
export function decryptSecret(token: string, key: Buffer): string {
  checkKey(key);
  const parts = token.split(':');
  if (parts.length !== 4) throw new Error('not an encrypted secret (expected v1:<iv>:<tag>:<ciphertext>)');
  const [version, ivText, tagText, dataText] = parts;
  if (version !== VERSION) throw new Error(`unsupported secret format "${version}" (expected ${VERSION})`);
  const iv = Buffer.from(ivText, 'base64url');
  const tag = Buffer.from(tagText, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('malformed encrypted secret');
  const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(Buffer.from(dataText, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    // GCM's own message ("Unsupported state or unable to authenticate data") helps nobody
    throw new Error('cannot decrypt secret: wrong key or corrupted data');
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error(`secret key must be ${KEY_BYTES} bytes, got ${key.length}`);
}
