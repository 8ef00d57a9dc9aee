// @vitest-environment jsdom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setupI18n } from '../i18n.js';
import { type SplitGroup, type SplitResult, SplitResults } from './SplitResults.js';

const group = (arm: string | null, counts: Partial<SplitGroup>): SplitGroup => ({
  arm,
  isControl: arm === null,
  entered: 20,
  converted: 4,
  pending: 0,
  decided: 20,
  decidedConverted: 4,
  rate: 0.2,
  interval: [0.08, 0.42],
  comparison: null,
  ...counts,
});

/** Arm a with contacts still pending against the holdout, which has none. */
const judged = (goalWithin: string | null): SplitResult => ({
  stepId: 'split',
  hasGoal: true,
  goalWithin,
  sampleRatio: null,
  groups: [
    group('a', {
      pending: 12,
      decided: 8,
      decidedConverted: 2,
      rate: 0.25,
      comparison: { difference: 0.05, pValue: null, verdict: 'too_early' },
    }),
    group(null, {}),
  ],
});

describe('split results', () => {
  beforeAll(async () => {
    await setupI18n();
  });
  afterEach(cleanup);

  it("says pending contacts are within the goal's window when it has one", () => {
    render(<SplitResults result={judged('7d')} />);
    const arm = screen.getByTestId('split-group-a').textContent;
    expect(arm).toContain('of the 8 whose window has closed');
    expect(arm).toContain('goal windows are still open');
    expect(screen.getByText(/12 contacts are still within the goal’s window/)).toBeTruthy();
  });

  it('says pending contacts are still in the journey when the goal has no window', () => {
    render(<SplitResults result={judged(null)} />);
    const arm = screen.getByTestId('split-group-a').textContent;
    expect(arm).toContain('of the 8 who have left the journey');
    expect(arm).toContain('contacts are still in the journey');
    expect(arm).not.toContain('window');
    expect(screen.getByText(/12 contacts are still in the journey, and the goal has no window/)).toBeTruthy();
  });
});
