/** Values offered as the user types into the input whose `list` is `id`; nothing without values. */
export function Suggestions(props: { id: string; values: readonly string[] | undefined }) {
  if (!props.values) return null;
  return (
    <datalist id={props.id}>
      {props.values.map((value) => (
        <option key={value} value={value} />
      ))}
    </datalist>
  );
}
