import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
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
  const text = decode(body, contentEncoding, maxBytes);
  if (text.trim() === '') throw new AppError('invalid_input', 'request body is empty: send a JSON object');
  try {
    return { text, value: JSON.parse(text) };
  } catch (error) {
    throw new AppError('invalid_input', `malformed JSON: ${describeJsonError(text, error)}`, {
      cause: error,
    });
  }
}

function decode(body: Buffer, encoding: string | undefined, maxBytes: number): string {
  return decodeBytes(body, encoding, maxBytes).toString('utf8');
}

/** The body's bytes as sent before its Content-Encoding (gzip, deflate, br or none), within `maxBytes`. */
export function decodeBytes(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Buffer {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  const limitMessage = `request body exceeds the ${Math.round(maxBytes / 1024)} KB limit`;
  const options = { maxOutputLength: maxBytes };
  let decoded: Buffer;
  try {
    switch (encoding) {
      case 'identity':
      case '':
        decoded = body;
        break;
      case 'gzip':
      case 'x-gzip':
        decoded = gunzipSync(body, options);
        break;
      case 'deflate':
        decoded = inflateSync(body, options);
        break;
      case 'br':
        decoded = brotliDecompressSync(body, options);
        break;
      default:
        throw new AppError(
          'unsupported_encoding',
          `Content-Encoding ${encoding} is not supported: use gzip, deflate, br or none`,
        );
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AppError('payload_too_large', limitMessage, { cause: error });
    }
    throw new AppError('invalid_input', `body is not valid ${encoding} data`, { cause: error });
  }
  if (decoded.length > maxBytes) throw new AppError('payload_too_large', limitMessage);
  return decoded;
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
