import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.js';
import { decodeJsonBody } from './decode-body.js';

describe('decodeJsonBody', () => {
  const json = Buffer.from(JSON.stringify({ batch: [{ type: 'track' }] }));

  it('decodes plain, gzip and deflate bodies', () => {
    expect(decodeJsonBody(json, undefined, 1000).value).toEqual({ batch: [{ type: 'track' }] });
    expect(decodeJsonBody(gzipSync(json), 'gzip', 1000).value).toEqual({ batch: [{ type: 'track' }] });
    expect(decodeJsonBody(deflateSync(json), 'Deflate', 1000).value).toEqual({ batch: [{ type: 'track' }] });
  });

  it('applies the limit to the decoded size, so a small gzip bomb is refused', () => {
    const bomb = gzipSync(Buffer.from(`{"a":"${'x'.repeat(600 * 1024)}"}`));
    expect(bomb.length).toBeLessThan(10_000);
    expect(() => decodeJsonBody(bomb, 'gzip', 500 * 1024)).toThrow(/exceeds the 500 KB limit/);
  });

  it('refuses a body that is not UTF-8, and reads one starting with a byte-order mark', () => {
    const latin1 = Buffer.from('{"traits":{"name":"Zoë"}}', 'latin1');
    expect(() => decodeJsonBody(latin1, undefined, 1000)).toThrow(/not UTF-8/);
    const withMark = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json]);
    expect(decodeJsonBody(withMark, undefined, 1000).value).toEqual({ batch: [{ type: 'track' }] });
  });

  it('says where malformed JSON broke', () => {
    expect(() =>
      decodeJsonBody(Buffer.from('{"batch": [\n  {"type": "track",}\n]}'), undefined, 1000),
    ).toThrow(/malformed JSON: .*position 31 \(line 2, column 20\)/);
  });

  it('refuses bodies that are not what their encoding says, and unknown encodings, naming what is wrong', () => {
    const refusal = (body: Buffer, encoding?: string) => {
      try {
        decodeJsonBody(body, encoding, 1000);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return { code: error.code, message: error.message, field: error.field };
      }
      throw new Error('accepted');
    };
    expect(refusal(json, 'gzip')).toEqual({
      code: 'invalid_input',
      message: expect.stringMatching(/not valid gzip/),
      field: 'body',
    });
    expect(refusal(json, 'compress')).toEqual({
      code: 'unsupported_encoding',
      message: expect.stringMatching(/Content-Encoding compress is not supported/),
      field: 'content-encoding',
    });
    expect(refusal(Buffer.from('  '))).toEqual({
      code: 'invalid_input',
      message: expect.stringMatching(/empty/),
      field: 'body',
    });
    expect(refusal(Buffer.from('{"batch": ['))).toEqual({
      code: 'invalid_input',
      message: expect.stringMatching(/malformed JSON/),
      field: 'body',
    });
  });
});
