import { ApiError, refusalOf } from '../app/api.js';
import type { ApiRule } from './rule-model.js';

/** A segment as `GET …/segments/{id}` answers it. */
export interface SegmentJson {
  id: string;
  name: string;
  description: string | null;
  kind: 'live' | 'static';
  rule: ApiRule | null;
  version: number;
  status: 'backfilling' | 'ready';
  readySince: string | null;
  members: number;
  backfill: {
    total: number;
    done: number;
    startedAt: string | null;
    finishedAt: string | null;
    /** Why the backfill stopped (it failed at every attempt); saving the segment again starts anew. */
    failure: string | null;
  };
  createdAt: string;
  updatedAt: string;
}

export interface PreviewJson {
  count: number;
  total: number;
  sample: Array<{ id: string; traits: Record<string, unknown> }>;
}

export interface MembersPage {
  items: Array<{ profileId: string; enteredAt: string; traits: Record<string, unknown> }>;
  nextCursor: string | null;
}

export interface UploadSummary {
  rows: number;
  matched: number;
  unmatched: number;
  duplicates: number;
  added: number;
  unmatchedRows: Array<{ line: number; key: string }>;
}

/** Sends a CSV file as it is (`text/csv`), the way the members upload takes it. */
export async function uploadCsv(path: string, file: Blob): Promise<UploadSummary> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'text/csv' },
      body: file,
    });
  } catch (error) {
    throw new ApiError(0, 'network', error instanceof Error ? error.message : String(error));
  }
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  // Worded as every other refusal is: an empty file, a header with no key column, in Italian too.
  if (!response.ok) throw refusalOf(response, parsed);
  return parsed as UploadSummary;
}

/** A contact's name for people: its e-mail or name trait, else its id. */
export function contactLabel(id: string, traits: Record<string, unknown>): string {
  for (const key of ['email', 'name', 'first_name']) {
    const value = traits[key];
    if (typeof value === 'string' && value) return value;
  }
  return id;
}
