import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1:';

/**
 * A stored secret that does not decrypt under the current MOPS_SECRET: it was sealed under another
 * (the server restarted with a new MOPS_SECRET). Nothing but entering it again mends it.
 */
export class UnreadableSecretError extends Error {
  constructor(options?: ErrorOptions) {
    super(
      'the stored secret cannot be decrypted under the current MOPS_SECRET (it was stored under another one); enter it again in the settings',
      options,
    );
    this.name = 'UnreadableSecretError';
  }
}

/** Encrypts settings secrets (the SMTP password) at rest with a key derived from MOPS_SECRET (AES-256-GCM). */
export class SecretBox {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, 'mops-settings', 'secret-box', 32));
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + [iv, cipher.getAuthTag(), sealed].map((part) => part.toString('base64url')).join(':');
  }

  open(value: string): string {
    if (!value.startsWith(PREFIX)) return value;
    const [iv, tag, sealed] = value
      .slice(PREFIX.length)
      .split(':')
      .map((part) => Buffer.from(part, 'base64url'));
    if (!iv || !tag || !sealed) throw new Error('sealed secret is malformed');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
    } catch (error) {
      // The tag does not match: sealed under another key, i.e. another MOPS_SECRET.
      throw new UnreadableSecretError({ cause: error });
    }
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }
}

/** A secret opened, or why it could not be: sealed under another MOPS_SECRET, it must be entered again. */
export type Opened<T> = { isReadable: true; value: T } | { isReadable: false; reason: string };

/**
 * What `read` opens with the box, or `reason()` when a secret it opens was sealed under another
 * MOPS_SECRET: no retry mends that, and the receiver is not to blame. Any other error is thrown.
 */
export function openedOr<T>(read: () => T, reason: () => string): Opened<T> {
  try {
    return { isReadable: true, value: read() };
  } catch (error) {
    if (error instanceof UnreadableSecretError) return { isReadable: false, reason: reason() };
    throw error;
  }
}
