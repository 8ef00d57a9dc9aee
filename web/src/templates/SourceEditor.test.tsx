// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { insertIndent, SourceEditor } from './SourceEditor.js';

function Editor(props: { initial: string }) {
  const [value, setValue] = useState(props.initial);
  return (
    <>
      <label htmlFor="source">Source</label>
      <SourceEditor control={{ id: 'source', 'aria-invalid': false }} value={value} onChange={setValue} />
    </>
  );
}

describe('the source editor', () => {
  afterEach(cleanup);

  it('replaces the selection with an indent and puts the caret after it', () => {
    expect(insertIndent('<mj-text>', 0, 0)).toEqual({ value: '  <mj-text>', caret: 2 });
    expect(insertIndent('ab cd', 2, 3)).toEqual({ value: 'ab  cd', caret: 4 });
  });

  it('indents on Tab instead of moving focus', () => {
    render(<Editor initial="<mjml>" />);
    const source = screen.getByLabelText<HTMLTextAreaElement>('Source');
    source.focus();
    source.setSelectionRange(0, 0);
    const isDefaultAllowed = fireEvent.keyDown(source, { key: 'Tab' });
    expect(isDefaultAllowed).toBe(false);
    expect(source.value).toBe('  <mjml>');
    expect(source.selectionStart).toBe(2);
  });

  it('lets Tab move focus on after Escape, and Shift+Tab always, so the keyboard is never trapped', () => {
    render(<Editor initial="<mjml>" />);
    const source = screen.getByLabelText<HTMLTextAreaElement>('Source');
    fireEvent.keyDown(source, { key: 'Escape' });
    expect(fireEvent.keyDown(source, { key: 'Tab' })).toBe(true);
    expect(fireEvent.keyDown(source, { key: 'Tab', shiftKey: true })).toBe(true);
    // Escape releases one Tab only: the next one indents again.
    expect(fireEvent.keyDown(source, { key: 'Tab' })).toBe(false);
    expect(source.value).toBe('  <mjml>');
  });
});
