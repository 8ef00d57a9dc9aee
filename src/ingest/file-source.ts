import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { pipeline, type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** The first bytes of every gzip file (RFC 1952). */
const GZIP_MAGIC = [0x1f, 0x8b];

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
  const head = Buffer.alloc(GZIP_MAGIC.length);
  const descriptor = openSync(file, 'r');
  try {
    const read = readSync(descriptor, head, 0, head.length, 0);
    return read === head.length && GZIP_MAGIC.every((byte, index) => head[index] === byte);
  } finally {
    closeSync(descriptor);
  }
}
