import { promisify } from 'node:util';
import { brotliDecompress, brotliDecompressSync, gunzip, gunzipSync, inflate, inflateSync } from 'node:zlib';
import { AppError } from '../core/errors.js';

/**
 * Decodes the request body by its Content-Encoding, whatever the Content-Type claims (RudderStack's
 * Node SDK sends gzip labelled application/x-www-form-urlencoded), and parses it as JSON. Limits
 * apply to the decoded size, so a small compressed body cannot expand past them.
 */
export function decodeJsonBody(
  body: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
): { text: string; value: unknown } {
  const text = utf8Text(decodeBytes(body, contentEncoding, maxBytes));
  if (text.trim() === '')
    throw new AppError('invalid_input', 'request body is empty: send a JSON object', { field: 'body' });
  try {
    return { text, value: JSON.parse(text) };
  } catch (error) {
    throw new AppError('invalid_input', `malformed JSON: ${describeJsonError(text, error)}`, {
      field: 'body',
      cause: error,
    });
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The bytes as UTF-8 text, refused when they are not (Latin-1 from an old client): read leniently
 * they would become U+FFFD, stored in place of what was sent.
 */
export function utf8Text(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch (error) {
    throw new AppError('invalid_input', 'the body is not UTF-8 text: send JSON in UTF-8', {
      field: 'body',
      cause: error,
    });
  }
}

/** The body's bytes as sent before its Content-Encoding (gzip, deflate, br or none), within `maxBytes`. */
export function decodeBytes(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Buffer {
  const encoding = encodingOf(contentEncoding);
  if (encoding === undefined) return withinLimit(body, maxBytes);
  try {
    return withinLimit(SYNC_INFLATERS[encoding](body, { maxOutputLength: maxBytes }), maxBytes);
  } catch (error) {
    throw decodingError(error, encoding, maxBytes);
  }
}

/**
 * `decodeBytes` off the event loop, for large bodies (a CSV list of up to 64 MB): a compressed one
 * does not hold the server while it expands. Callers decode only once the caller is authorised.
 */
export async function decodeBytesInBackground(
  body: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const encoding = encodingOf(contentEncoding);
  if (encoding === undefined) return withinLimit(body, maxBytes);
  try {
    return withinLimit(await ASYNC_INFLATERS[encoding](body, { maxOutputLength: maxBytes }), maxBytes);
  } catch (error) {
    throw decodingError(error, encoding, maxBytes);
  }
}

/** Whether bytes begin as every gzip file does (RFC 1952): a file sent as it is, with no Content-Encoding. */
export function looksGzipped(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

type Encoding = 'gzip' | 'deflate' | 'br';
type InflateOptions = { maxOutputLength: number };

const SYNC_INFLATERS: Record<Encoding, (body: Buffer, options: InflateOptions) => Buffer> = {
  gzip: gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};
const ASYNC_INFLATERS: Record<Encoding, (body: Buffer, options: InflateOptions) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

/** The compression a Content-Encoding names; undefined for none. */
function encodingOf(contentEncoding: string | undefined): Encoding | undefined {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') return 'gzip';
  if (encoding === 'deflate' || encoding === 'br') return encoding;
  throw new AppError(
    'unsupported_encoding',
    `Content-Encoding ${encoding} is not supported: use gzip, deflate, br or none`,
    { field: 'content-encoding' },
  );
}

function withinLimit(decoded: Buffer, maxBytes: number): Buffer {
  if (decoded.length > maxBytes)
    throw new AppError('payload_too_large', limitMessage(maxBytes), { field: 'body' });
  return decoded;
}

function limitMessage(maxBytes: number): string {
  return `request body exceeds the ${Math.round(maxBytes / 1024)} KB limit`;
}

function decodingError(error: unknown, encoding: Encoding, maxBytes: number): AppError {
  if (error instanceof AppError) return error;
  if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
    return new AppError('payload_too_large', limitMessage(maxBytes), { field: 'body', cause: error });
  return new AppError('invalid_input', `body is not valid ${encoding} data`, { field: 'body', cause: error });
}

/** "Unexpected token } in JSON at position 41 (line 3, column 7)": where the JSON broke. */
function describeJsonError(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const match = /at position (\d+)/.exec(message);
  if (!match) return message;
  const position = Number(match[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `${message} (line ${line}, column ${column})`;
}
