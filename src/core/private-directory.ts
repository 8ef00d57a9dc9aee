import { mkdirSync } from 'node:fs';

/**
 * Creates a directory (and its parents) only its owner may enter: the database files and the signing
 * secret inside hold contacts' data and password hashes, and SQLite writes its files with the
 * process's umask (readable by all, usually). A directory that exists is left as it is.
 */
export function makePrivateDirectory(directory: string): void {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
}
