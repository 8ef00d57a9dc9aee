/** Placeholder until this screen is built. */
export function TemplateEditorPage() {
  return <h1>TemplateEditorPage</h1>;
}
