/** Placeholder until this screen is built. */
export function SegmentsPage() {
  return <h1>SegmentsPage</h1>;
}
