import { type KeyboardEvent, useLayoutEffect, useRef } from 'react';

export const INDENT = '  ';

/** The text with the selection replaced by an indent, and where the caret lands after it. */
export function insertIndent(value: string, start: number, end: number): { value: string; caret: number } {
  return { value: value.slice(0, start) + INDENT + value.slice(end), caret: start + INDENT.length };
}

/**
 * A monospace textarea where Tab indents, as in a code editor. So that keyboard users are not trapped,
 * Escape hands the next Tab back to the browser (it moves focus on), and Shift+Tab always moves back.
 */
export function SourceEditor(props: {
  control: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string };
  value: string;
  onChange: (value: string) => void;
  rows?: number;
}) {
  const textarea = useRef<HTMLTextAreaElement>(null);
  const isTabReleased = useRef(false);
  const caret = useRef<number | undefined>(undefined);

  // After an indent the new value re-renders the textarea; put the caret back where the typing was.
  useLayoutEffect(() => {
    if (caret.current === undefined || !textarea.current) return;
    textarea.current.setSelectionRange(caret.current, caret.current);
    caret.current = undefined;
  });

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Escape') {
      isTabReleased.current = true;
      return;
    }
    const isPlainTab = event.key === 'Tab' && !event.shiftKey && !event.ctrlKey && !event.altKey;
    if (isPlainTab && !isTabReleased.current) {
      event.preventDefault();
      const target = event.currentTarget;
      const indented = insertIndent(target.value, target.selectionStart, target.selectionEnd);
      caret.current = indented.caret;
      props.onChange(indented.value);
    }
    isTabReleased.current = false;
  }

  return (
    <textarea
      {...props.control}
      ref={textarea}
      className="source-editor"
      spellCheck={false}
      autoCapitalize="off"
      autoCorrect="off"
      rows={props.rows ?? 20}
      value={props.value}
      onChange={(event) => props.onChange(event.target.value)}
      onKeyDown={onKeyDown}
      onBlur={() => {
        isTabReleased.current = false;
      }}
    />
  );
}
