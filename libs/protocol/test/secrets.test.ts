import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, isEncryptedSecret, parseSecretKey } from '../src/secrets.ts';

const key = randomBytes(32);

describe('secrets', () => {
  it('round-trips a secret and never puts the plaintext in the token', () => {
    const token = encryptSecret('s3cr3t-pässword', key);
    expect(token).toMatch(/^v1:[\w-]+:[\w-]+:[\w-]+$/);
    expect(token).not.toContain('s3cr3t');
    expect(isEncryptedSecret(token)).toBe(true);
    expect(decryptSecret(token, key)).toBe('s3cr3t-pässword');
  });

  it('uses a fresh IV each time, so equal secrets give different tokens', () => {
    expect(encryptSecret('same', key)).not.toBe(encryptSecret('same', key));
  });

  it('refuses a token made with another key', () => {
    const token = encryptSecret('x', key);
    expect(() => decryptSecret(token, randomBytes(32))).toThrow(/wrong key or corrupted/);
  });

  it('refuses a tampered token', () => {
    const [v, iv, tag, data] = encryptSecret('hello world', key).split(':');
    const flipped = Buffer.from(data, 'base64url');
    flipped[0] ^= 1;
    expect(() => decryptSecret([v, iv, tag, flipped.toString('base64url')].join(':'), key)).toThrow(
      /wrong key or corrupted/,
    );
  });

  it('refuses unknown versions and malformed tokens', () => {
    expect(() => decryptSecret('v9:a:b:c', key)).toThrow(/unsupported secret format "v9"/);
    expect(() => decryptSecret('plain text', key)).toThrow(/not an encrypted secret/);
  });

  it('parses keys written as hex, base64 and base64url', () => {
    expect(parseSecretKey(key.toString('hex'))).toEqual(key);
    expect(parseSecretKey(key.toString('base64'))).toEqual(key);
    expect(parseSecretKey(` ${key.toString('base64url')}\n`)).toEqual(key);
  });

  it('rejects keys of the wrong length, saying what is expected', () => {
    expect(() => parseSecretKey('abcd')).toThrow(/32-byte key as 64 hex digits or base64/);
    expect(() => parseSecretKey(randomBytes(16).toString('base64'))).toThrow(/32-byte key/);
  });
});
