import type { TemplateBody } from './draft.js';

/**
 * What a new template starts as: a single-column MJML layout (MJML makes it responsive) with a
 * personalised greeting, a call to action and a footer with the unsubscribe link, so a marketer edits
 * words rather than starting from a blank page.
 */
export const SKELETON_MJML = `<mjml>
  <mj-head>
    <mj-attributes>
      <mj-all font-family="Helvetica, Arial, sans-serif" />
      <mj-text font-size="16px" line-height="1.5" color="#1b1f24" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f3f5f8">
    <mj-section background-color="#ffffff" padding="24px">
      <mj-column>
        <mj-text font-size="22px" font-weight="bold">
          Hello {{ profile.traits.first_name | default: "there" }},
        </mj-text>
        <mj-text>
          Write your message here.
        </mj-text>
        <mj-button href="https://example.com" background-color="#0b57d0" color="#ffffff">
          Call to action
        </mj-button>
      </mj-column>
    </mj-section>
    <mj-section padding="12px 24px">
      <mj-column>
        <mj-text font-size="12px" color="#4a5562" align="center">
          <a href="{{ unsubscribe_url }}">Unsubscribe</a>
        </mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
`;

export function skeletonTemplate(name: string): TemplateBody {
  return {
    name: name.trim(),
    subject: 'A message for you, {{ profile.traits.first_name | default: "there" }}',
    preheader: null,
    mjml: SKELETON_MJML,
    text: null,
  };
}
