/** Placeholder until this screen is built. */
export function ScoringPage() {
  return <h1>ScoringPage</h1>;
}
