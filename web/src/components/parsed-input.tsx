import { useEffect, useRef, useState } from 'react';

/**
 * A text box for a value read from what is typed (a number, a list of names). It shows what was
 * typed, not the value read back: `2.` stays while `2.5` is on its way, and a comma stays while a
 * list grows. A value changed from elsewhere (another control, a reset) replaces the text.
 */
export function ParsedInput<T>(props: {
  label: string;
  /** Given when a visible label names the box (`<label htmlFor>`). */
  id?: string;
  value: T;
  parse: (text: string) => T;
  format: (value: T) => string;
  onChange: (value: T) => void;
  placeholder?: string;
  inputMode?: 'decimal' | 'text';
  /** What the server refused here, as the id of the element that says why. */
  errorId?: string | undefined;
  /** The id of the element that says what to type here, when nothing is refused. */
  hintId?: string | undefined;
}) {
  const { value, format } = props;
  const [text, setText] = useState(() => format(value));
  // The value this box last sent up, to tell an echo of it from a change made elsewhere.
  const sent = useRef(JSON.stringify(value));
  useEffect(() => {
    const incoming = JSON.stringify(value);
    if (incoming === sent.current) return;
    sent.current = incoming;
    setText(format(value));
  }, [value, format]);
  return (
    <input
      id={props.id}
      aria-label={props.label}
      placeholder={props.placeholder}
      inputMode={props.inputMode}
      aria-invalid={props.errorId ? true : undefined}
      aria-describedby={props.errorId ?? props.hintId}
      value={text}
      onChange={(event) => {
        const typed = event.target.value;
        setText(typed);
        const parsed = props.parse(typed);
        sent.current = JSON.stringify(parsed);
        props.onChange(parsed);
      }}
    />
  );
}
