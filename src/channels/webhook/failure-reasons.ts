import { errorMessage, RETRYING_PREFIX } from '../delivery-errors.js';

/*
 * What a failed webhook call's reason says, and how much of it a member (not an admin) reads. Admins
 * read the receiver's host and the start of its answer, which they need to mend the receiver; members
 * read what failed only, since some receivers carry their token in the host name (a per-hook
 * subdomain) and many echo the request, or their own credentials, in an error answer. The reasons
 * are written here (but for network-guard's refusal of a private address) and read back here, so that
 * a change to one cannot miss the other; reasons stored by older versions have the same shapes.
 */

/** A call the receiver answered with a status other than 2xx: `HTTP 422 from crm.example.com: {"error":…}`. */
export function answeredReason(options: { status: number; host: string; excerpt: string }): string {
  const { status, host, excerpt } = options;
  const reason = `HTTP ${status} from ${host}${excerpt ? `: ${excerpt}` : ''}`;
  return isRedirect(status) ? `${reason}${NOT_FOLLOWED}` : reason;
}

/**
 * A call that got no answer: `crm.example.com: connect ECONNREFUSED 10.0.0.7:443`, each address
 * tried when the name has several (`…: connect ECONNREFUSED 10.0.0.7:443; connect ECONNREFUSED …`).
 */
export function unansweredReason(host: string, error: unknown): string {
  return `${host}: ${errorMessage(error)}`;
}

/**
 * A destination's stored secret (`signing secret`, `header X-Api-Key`) that does not decrypt: the
 * server's MOPS_SECRET changed since it was stored. No retry mends that, and the receiver is not to
 * blame: it must be entered again.
 */
export function unreadableSecretReason(destinationId: string, secret: string): string {
  return `webhook destination ${destinationId}: its stored ${secret} cannot be decrypted under the current MOPS_SECRET (it was stored under another one); enter it again in Settings → Webhooks`;
}

const NOT_FOLLOWED = ' (redirects are not followed)';
const ANSWERED = /^HTTP (\d{3}) from /;
/**
 * A host as a URL holds it, with its port: a bracketed IPv6 address, or a name, which may hold
 * `_ ~ ! $ * ' , ; = { }` (a per-hook token among them) but never a space or a URL delimiter. A name
 * with such a character must have a dot or a port to count as one: `SQLITE_BUSY: …` is no host.
 */
const HOST_CHARACTER = String.raw`[^\s:/?#@\[\]\\]`;
const UNANSWERED = new RegExp(
  String.raw`^(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+|${HOST_CHARACTER}*\.${HOST_CHARACTER}*|${HOST_CHARACTER}+(?=:\d))(?::\d+)?: (.*)$`,
  'is',
);
/** network-guard's refusal: `crm.example.com resolves to 10.0.0.7, a private or reserved address; …`. */
const PRIVATE_ADDRESS = /^\S+ resolves to \S+, a private or reserved address/;

/** What kept a call from an answer, told by its error (Node's and undici's codes and messages). */
const NO_ANSWER: Array<[RegExp, string]> = [
  [/ECONNREFUSED/, 'the receiver refused the connection'],
  [/timeout|timed out|ETIMEDOUT|aborted/i, 'the receiver did not answer in time'],
  [/ENOTFOUND|EAI_AGAIN|has no address/, "the receiver's name has no address"],
  [/certificate|TLS|SSL|altname/i, 'the secure connection to the receiver failed'],
  [/ECONNRESET|EPIPE|other side closed|socket/i, 'the connection broke off before an answer'],
];

/**
 * A webhook message's reason as a member reads it: the status code the receiver answered, or what kept
 * it from answering, without its host or the answer's text. Reasons that hold neither (a journey
 * paused, a destination no longer configured) are shown as they are.
 */
export function reasonShownToMembers(reason: string | null): string | null {
  if (reason === null) return null;
  if (reason.startsWith(RETRYING_PREFIX))
    return `${RETRYING_PREFIX}${reasonShownToMembers(reason.slice(RETRYING_PREFIX.length))}`;
  const answered = ANSWERED.exec(reason);
  if (answered) {
    const status = Number(answered[1]);
    return `HTTP ${status} from the receiver${isRedirect(status) ? NOT_FOLLOWED : ''}`;
  }
  if (PRIVATE_ADDRESS.test(reason))
    return "the receiver's address is private or reserved; the workspace does not allow calls to private networks";
  const unanswered = UNANSWERED.exec(reason);
  if (unanswered) {
    const error = unanswered[1] ?? '';
    return NO_ANSWER.find(([pattern]) => pattern.test(error))?.[1] ?? 'the receiver could not be reached';
  }
  return reason;
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}
