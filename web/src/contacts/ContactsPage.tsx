/** Placeholder until this screen is built. */
export function ContactsPage() {
  return <h1>ContactsPage</h1>;
}
