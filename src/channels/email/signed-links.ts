import { SignedTokens } from '../../core/signed-tokens.js';

export type LinkPurpose = 'open' | 'click' | 'unsubscribe';

/**
 * Tokens for tracking and unsubscribe links, signed per purpose, so a click token cannot pass for an
 * unsubscribe one. A tampered or unsigned token is refused: no open redirects, no unsubscribing others.
 */
export class LinkSigner extends SignedTokens<LinkPurpose> {
  constructor(secret: string) {
    super(secret, 'mops-links', ['open', 'click', 'unsubscribe']);
  }
}

export interface ClickPayload {
  /** message id */
  m: string;
  /** target URL */
  u: string;
}

export interface MessagePayload {
  m: string;
}
