/** Placeholder until this screen is built. */
export function SegmentPage() {
  return <h1>SegmentPage</h1>;
}
