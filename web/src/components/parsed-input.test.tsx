// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { ParsedInput } from './parsed-input.js';

function Harness<T>(props: {
  initial: T;
  parse: (text: string) => T;
  format: (value: T) => string;
  seen: T[];
}) {
  const [value, setValue] = useState(props.initial);
  return (
    <>
      <ParsedInput
        label="box"
        value={value}
        parse={props.parse}
        format={props.format}
        onChange={(next) => {
          props.seen.push(next);
          setValue(next);
        }}
      />
      <button type="button" onClick={() => setValue(props.initial)}>
        reset
      </button>
    </>
  );
}

/** Types text one character at a time, as a person does. */
function type(box: HTMLElement, text: string): void {
  for (let end = 1; end <= text.length; end++)
    fireEvent.change(box, { target: { value: text.slice(0, end) } });
}

describe('a box for a typed value', () => {
  afterEach(cleanup);

  it('keeps a decimal point and a minus sign while the number is typed', () => {
    const seen: number[] = [];
    render(<Harness initial={0} parse={Number} format={String} seen={seen} />);
    const box = screen.getByLabelText('box') as HTMLInputElement;
    fireEvent.change(box, { target: { value: '' } });
    type(box, '-49.99');
    expect(box.value).toBe('-49.99');
    expect(seen.at(-1)).toBe(-49.99);
  });

  it('keeps a comma while a list is typed, and shows a value set elsewhere', () => {
    const seen: string[][] = [];
    const parse = (text: string) =>
      text
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
    render(<Harness initial={['lead']} parse={parse} format={(items) => items.join(', ')} seen={seen} />);
    const box = screen.getByLabelText('box') as HTMLInputElement;
    fireEvent.change(box, { target: { value: '' } });
    type(box, 'mql, sql');
    expect(box.value).toBe('mql, sql');
    expect(seen.at(-1)).toEqual(['mql', 'sql']);
    fireEvent.click(screen.getByText('reset'));
    expect(box.value).toBe('lead');
  });
});
