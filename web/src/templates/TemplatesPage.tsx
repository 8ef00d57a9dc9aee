/** Placeholder until this screen is built. */
export function TemplatesPage() {
  return <h1>TemplatesPage</h1>;
}
