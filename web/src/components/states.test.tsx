// @vitest-environment jsdom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../app/api.js';
import { setupI18n } from '../i18n.js';
import { ErrorState } from './states.js';

describe('ErrorState', () => {
  beforeAll(async () => {
    await setupI18n();
  });
  afterEach(cleanup);

  it('heads a refusal as something the user can change, and a failure as something that went wrong', () => {
    const inUse = new ApiError(409, 'conflict', 'the segment "Hot leads" is used by the journey "Welcome"');
    render(<ErrorState error={inUse} />);
    expect(screen.getByRole('alert').textContent).toBe(
      'Can’t do thatthe segment "Hot leads" is used by the journey "Welcome"',
    );
    cleanup();
    render(<ErrorState error={new ApiError(500, 'internal', 'database unavailable')} />);
    expect(screen.getByRole('alert').textContent).toBe('Something went wrongdatabase unavailable');
  });

  it('offers a way back, not another try, for something that is not there', () => {
    const missing = new ApiError(404, 'not_found', 'profile prf_gone does not exist');
    render(<ErrorState error={missing} onRetry={() => {}} />);
    expect(screen.getByRole('alert').textContent).toBe(
      'Not foundIt may have been deleted, or the link is wrong.Go back',
    );
    expect(screen.queryByRole('button', { name: 'Try again' })).toBeNull();
  });
});
