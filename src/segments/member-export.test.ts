import { describe, expect, it } from 'vitest';
import { exportCell } from './member-export.js';

describe('a value as an exported cell', () => {
  it('quotes text a spreadsheet would run as a formula, and nothing else', () => {
    for (const formula of [
      '=HYPERLINK("http://evil","x")',
      '+A1*2',
      '-1+cmd|" /C calc"!A0',
      '@SUM(A1)',
      '\t=1',
    ])
      expect(exportCell(formula)).toBe(`'${formula}`);
    // Nothing runs in these, but a spreadsheet computes them (+1-555-010-9999 becomes -10563).
    for (const computed of ['+1-1', '--1', '-(2)', '+1-555-010-9999', '-42'])
      expect(exportCell(computed)).toBe(`'${computed}`);
    for (const plain of ['Acme', '+39 347 123 4567', '+393471234567', 'a=b'])
      expect(exportCell(plain)).toBe(plain);
  });

  it('writes numbers and booleans as written, objects as JSON, and nothing for what is not set', () => {
    expect(exportCell(1500.5)).toBe('1500.5');
    expect(exportCell(false)).toBe('false');
    expect(exportCell({ city: 'Milano' })).toBe('{"city":"Milano"}');
    expect(exportCell(['=1'])).toBe('["=1"]');
    expect(exportCell(undefined)).toBe('');
    expect(exportCell(null)).toBe('');
  });
});
