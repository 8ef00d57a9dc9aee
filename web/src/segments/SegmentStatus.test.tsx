// @vitest-environment jsdom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setupI18n } from '../i18n.js';
import { SegmentStatus } from './SegmentStatus.js';
import type { SegmentJson } from './segment-api.js';

const segment = (
  status: SegmentJson['status'],
  total: number,
  done: number,
  failure: string | null = null,
): SegmentJson => ({
  id: 'seg_1',
  name: 'Buyers',
  description: null,
  kind: 'live',
  rule: null,
  version: 1,
  status,
  readySince: null,
  members: 7,
  backfill: { total, done, startedAt: null, finishedAt: null, failure },
  createdAt: '2026-11-30T10:00:00.000Z',
  updatedAt: '2026-11-30T10:00:00.000Z',
});

describe('SegmentStatus', () => {
  beforeAll(async () => {
    await setupI18n();
  });
  afterEach(cleanup);

  it('says the backfill is finding contacts before it has a total, not "0 of 0"', () => {
    render(<SegmentStatus segment={segment('backfilling', 0, 0)} />);
    const status = screen.getByTestId('segment-status');
    expect(status.textContent).toBe('Finding the existing contacts to evaluate…');
    expect(status.querySelector('progress')?.hasAttribute('value')).toBe(false);
  });

  it('counts towards the total once there is one, then shows the members', () => {
    render(<SegmentStatus segment={segment('backfilling', 2000, 500)} />);
    expect(screen.getByTestId('segment-status').textContent).toBe(
      'Evaluating existing contacts: 500 of 2,000',
    );
    cleanup();
    render(<SegmentStatus segment={segment('ready', 2000, 2000)} />);
    expect(screen.getByTestId('segment-status').textContent).toMatch(/7/);
  });

  it('says the backfill stopped, with its error, rather than showing it still under way', () => {
    render(<SegmentStatus segment={segment('backfilling', 2000, 500, 'TypeError: boom')} />);
    const status = screen.getByTestId('segment-status');
    expect(status.textContent).toContain('stopped');
    expect(status.textContent).toContain('TypeError: boom');
    expect(status.querySelector('progress')).toBeNull();
  });
});
