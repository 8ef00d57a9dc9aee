// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, expect, it } from 'vitest';
import { ChartFigure } from './ChartFigure.js';

afterEach(cleanup);

it('names the chart by its title and summary, and shows its data as a table on demand', () => {
  render(
    <ChartFigure
      title="Events received"
      summary="Received: 3"
      testId="events"
      rows={[
        { start: '10:00', received: 1 },
        { start: '10:01', received: 2 },
      ]}
      rowKey={(row) => row.start}
      columns={[
        { label: 'Starting at', cell: (row) => row.start },
        { label: 'Received', isNumber: true, cell: (row) => String(row.received) },
      ]}
    >
      <svg />
    </ChartFigure>,
  );

  expect(screen.getByRole('img', { name: 'Events received. Received: 3' })).toBeTruthy();
  expect(screen.queryByRole('table')).toBeNull();
  // Without an i18n instance the button shows its key.
  const toggle = screen.getByRole('button', { name: 'dashboard.chart.showTable' });
  expect(toggle.getAttribute('aria-expanded')).toBe('false');

  fireEvent.click(toggle);

  expect(toggle.getAttribute('aria-expanded')).toBe('true');
  const cells = screen.getAllByRole('cell').map((cell) => cell.textContent);
  expect(cells).toEqual(['10:00', '1', '10:01', '2']);
  fireEvent.click(screen.getByRole('button', { name: 'dashboard.chart.hideTable' }));
  expect(screen.queryByRole('table')).toBeNull();
});
