import { defineMessages } from '../i18n.js';

type Translate = (key: string, options?: Record<string, unknown>) => string;

defineMessages('messageReasons', {
  en: {
    noSmtp: 'no SMTP server is set up for this workspace',
    noSms: 'no SMS provider is set up for this workspace',
    noEmail: 'the contact has no e-mail address (trait email)',
    profileGone: 'the contact no longer exists',
    emptyText: 'the text is empty once written out',
    goalReached: 'the contact reached the journey’s goal',
    journeyArchived: 'the journey was archived',
    journeyPaused: 'the journey is paused',
    leftSegment: 'the contact left the entry segment',
    mergedIntoInstance: 'merged into a contact already in this journey',
    unsubscribed: 'unsubscribed',
    unsubscribedFrom: 'unsubscribed from {{topic}}',
    suppressed: 'address suppressed: {{why}}',
    hardBounce: 'hard bounce',
    complaint: 'complaint',
    addedByHand: 'added by hand',
    quietHours: 'quiet hours {{hours}}',
    frequencyCap: 'frequency cap: {{max}} per {{period}}',
    retrying: 'trying again: {{reason}}',
  },
  it: {
    noSmtp: 'nessun server SMTP configurato per quest’area di lavoro',
    noSms: 'nessun provider SMS configurato per quest’area di lavoro',
    noEmail: 'il contatto non ha un indirizzo e-mail (attributo email)',
    profileGone: 'il contatto non esiste più',
    emptyText: 'il testo è vuoto una volta compilato',
    goalReached: 'il contatto ha raggiunto l’obiettivo del percorso',
    journeyArchived: 'il percorso è stato archiviato',
    journeyPaused: 'il percorso è in pausa',
    leftSegment: 'il contatto è uscito dal segmento d’ingresso',
    mergedIntoInstance: 'unito a un contatto già in questo percorso',
    unsubscribed: 'disiscritto',
    unsubscribedFrom: 'disiscritto da {{topic}}',
    suppressed: 'indirizzo bloccato: {{why}}',
    hardBounce: 'rimbalzo permanente',
    complaint: 'segnalazione di spam',
    addedByHand: 'aggiunto a mano',
    quietHours: 'ore di silenzio {{hours}}',
    frequencyCap: 'limite di frequenza: {{max}} ogni {{period}}',
    retrying: 'nuovo tentativo: {{reason}}',
  },
});

/** Reasons the server records word for word, by the text key that says them. */
const FIXED: Record<string, string> = {
  'no SMTP server is configured for this workspace': 'noSmtp',
  'no SMS provider is configured (settings.sms)': 'noSms',
  'the profile has no e-mail address (trait email)': 'noEmail',
  'the profile no longer exists': 'profileGone',
  'the text is empty once rendered': 'emptyText',
  'goal reached': 'goalReached',
  'journey archived': 'journeyArchived',
  'journey paused': 'journeyPaused',
  'left the entry segment': 'leftSegment',
  'merged into a profile already in this journey': 'mergedIntoInstance',
  unsubscribed: 'unsubscribed',
  hard_bounce: 'hardBounce',
  complaint: 'complaint',
  added_by_hand: 'addedByHand',
};

/**
 * Why a message was held back, skipped or failed, from the reason the server records in English, in
 * the reader's language where the console knows it (a missing SMTP server, quiet hours, a cap); what a
 * receiver or provider answered (`HTTP 503 …`, `SMTP 550 …`) stays as it was said.
 */
export function wordMessageReason(reason: string, t: Translate): string {
  const say = (key: string, values: Record<string, unknown> = {}) => t(`messageReasons.${key}`, values);
  const fixed = FIXED[reason];
  if (fixed) return say(fixed);
  const retrying = /^retrying: (.+)$/s.exec(reason);
  if (retrying) return say('retrying', { reason: wordMessageReason(retrying[1] as string, t) });
  const suppressed = /^address suppressed: (.+)$/.exec(reason);
  if (suppressed) return say('suppressed', { why: wordMessageReason(suppressed[1] as string, t) });
  const topic = /^unsubscribed from (.+)$/.exec(reason);
  if (topic) return say('unsubscribedFrom', { topic: topic[1] });
  const quiet = /^quiet hours (.+)$/.exec(reason);
  if (quiet) return say('quietHours', { hours: quiet[1] });
  const cap = /^frequency cap: (\d+) per (.+)$/.exec(reason);
  if (cap) return say('frequencyCap', { max: cap[1], period: cap[2] });
  return reason;
}
