import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { pipeline, type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { looksGzipped } from './decode-body.js';

/**
 * A file's content as a stream, gunzipped when the file is gzip (`visitors.csv.gz`, whatever its
 * name says), as the API reads a compressed upload. `onBytes` counts the file's own bytes as they
 * are read, so progress is measured against its size on disk.
 */
export function openFileSource(file: string, onBytes: (count: number) => void = () => undefined): Readable {
  // Counted on the way through, not by a 'data' listener, which would start the file flowing before
  // its reader is there to take it.
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  // pipeline() hands a read or gunzip error on to the stream returned, which its reader then throws.
  const ignore = () => undefined;
  return isGzip(file)
    ? pipeline(createReadStream(file), counter, createGunzip(), ignore)
    : pipeline(createReadStream(file), counter, ignore);
}

function isGzip(file: string): boolean {
  const head = Buffer.alloc(2);
  const descriptor = openSync(file, 'r');
  try {
    return looksGzipped(head.subarray(0, readSync(descriptor, head, 0, head.length, 0)));
  } finally {
    closeSync(descriptor);
  }
}

/** Thrown by `utf8Checked` at the first bytes that are not UTF-8. */
export class NotUtf8Error extends Error {
  override name = 'NotUtf8Error';
}

/**
 * The stream's bytes as they are, refused from the first that are not UTF-8 (a Latin-1 `ë`): read as
 * UTF-8 they would become U+FFFD, stored in place of what was meant. With `utf16Allowed`, a file
 * starting with a UTF-16 little-endian byte-order mark passes unchecked, for a reader that decodes it
 * (CSV's).
 */
export function utf8Checked(source: Readable, options: { utf16Allowed: boolean }): Readable {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  let isUtf16 = false;
  const checker = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (offset === 0) {
        const isLittleEndian = chunk.length >= 2 && chunk[0] === 0xff && chunk[1] === 0xfe;
        const isBigEndian = chunk.length >= 2 && chunk[0] === 0xfe && chunk[1] === 0xff;
        isUtf16 = isLittleEndian || isBigEndian;
        if (isUtf16 && !options.utf16Allowed) {
          done(new NotUtf8Error('the file is UTF-16 text: save it as UTF-8'));
          return;
        }
        // The CSV reader decodes UTF-16 little-endian only: the other would be read as a header of NULs.
        if (isBigEndian) {
          done(new NotUtf8Error('the file is UTF-16 big-endian text: save it as UTF-8'));
          return;
        }
      }
      try {
        if (!isUtf16) decoder.decode(chunk, { stream: true });
      } catch {
        done(
          new NotUtf8Error(
            `the file is not UTF-8 text (bytes that are not, within bytes ${offset + 1}–${offset + chunk.length}): save it as UTF-8`,
          ),
        );
        return;
      }
      offset += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      try {
        if (!isUtf16) decoder.decode();
        done();
      } catch {
        done(new NotUtf8Error('the file is not UTF-8 text (it ends inside a character): save it as UTF-8'));
      }
    },
  });
  return pipeline(source, checker, () => undefined);
}
