// @vitest-environment jsdom
import i18next from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSAL_REASONS, type RefusalReason } from '../../../src/core/input-issues.js';
import { setupI18n } from '../i18n.js';
import { wordIssue } from './issue-wording.js';

/** Each reason the server names, with what it names as the API gives it, and its wording in each language. */
const WORDINGS: Record<RefusalReason, { params?: Record<string, string>; en: string; it: string }> = {
  wrong_credentials: {
    en: 'The e-mail or the password is wrong.',
    it: 'L’e-mail o la password sono sbagliate.',
  },
  wrong_current_password: {
    en: 'The current password is wrong.',
    it: 'La password attuale è sbagliata.',
  },
  last_owner: {
    params: { email: 'ada@example.com' },
    en: 'ada@example.com is the workspace’s last owner: make another member owner first.',
    it: 'ada@example.com è l’ultimo proprietario dell’area di lavoro: rendi prima proprietario un altro membro.',
  },
  smtp_not_configured: {
    en: 'Set up an SMTP server in Settings first.',
    it: 'Configura prima un server SMTP nelle Impostazioni.',
  },
  sms_not_configured: {
    en: 'Set up an SMS provider in Settings first.',
    it: 'Configura prima un provider SMS nelle Impostazioni.',
  },
  duration_format: {
    en: 'Must be a number and a unit: 30s, 15m, 2h, 3d or 1w',
    it: 'Deve essere un numero e un’unità: 30s, 15m, 2h, 3d o 1w',
  },
  duration_too_long: { en: 'At most 520w (ten years)', it: 'Al massimo 520w (dieci anni)' },
  loop_without_wait: {
    params: { steps: 'a → b → a' },
    en: 'a → b → a loops back with no wait on the way: a contact would go round without stopping, sent every message each time. Put a wait in the loop.',
    it: 'a → b → a torna indietro senza un’attesa lungo il percorso: un contatto girerebbe senza fermarsi, ricevendo ogni messaggio a ogni giro. Metti un’attesa nel ciclo.',
  },
  csv_empty: {
    en: 'The file is empty: it needs a header row, then a row per contact.',
    it: 'Il file è vuoto: servono una riga di intestazione e poi una riga per contatto.',
  },
  csv_no_key_column: {
    params: { header: 'id, company' },
    en: 'The header (id, company) has no user_id, anonymous_id or email column: nothing was added.',
    it: 'L’intestazione (id, company) non ha una colonna user_id, anonymous_id o email: non è stato aggiunto nulla.',
  },
  csv_semicolons: {
    params: { header: 'user_id;company' },
    en: 'The header (user_id;company) has no user_id, anonymous_id or email column, and its columns seem separated by semicolons: save the file as CSV with commas. Nothing was added.',
    it: 'L’intestazione (user_id;company) non ha una colonna user_id, anonymous_id o email, e le colonne sembrano separate da punti e virgola: salva il file come CSV con le virgole. Non è stato aggiunto nulla.',
  },
  segment_used_by_segments: {
    params: { segment: 'VIPs', segments: '"Big spenders", "Loyal"' },
    en: 'The segment "VIPs" is still in use (segments: "Big spenders", "Loyal"): change those first.',
    it: 'Il segmento "VIPs" è ancora in uso (segmenti: "Big spenders", "Loyal"): cambia prima quelli.',
  },
  segment_used_by_journeys: {
    params: { segment: 'VIPs', journeys: '"Welcome"' },
    en: 'The segment "VIPs" is still in use (journeys: "Welcome"): change those first.',
    it: 'Il segmento "VIPs" è ancora in uso (percorsi: "Welcome"): cambia prima quelli.',
  },
  segment_used_by_segments_and_journeys: {
    params: { segment: 'VIPs', segments: '"Loyal"', journeys: '"Welcome"' },
    en: 'The segment "VIPs" is still in use (segments: "Loyal"; journeys: "Welcome"): change those first.',
    it: 'Il segmento "VIPs" è ancora in uso (segmenti: "Loyal"; percorsi: "Welcome"): cambia prima quelli.',
  },
  segments_circular: {
    params: { circle: 'A (seg_1) → B (seg_2) → A (seg_1)' },
    en: 'Segments would ask about each other: A (seg_1) → B (seg_2) → A (seg_1). A segment cannot be in its own rule, not even through others.',
    it: 'I segmenti si chiederebbero l’un l’altro: A (seg_1) → B (seg_2) → A (seg_1). Un segmento non può stare nella propria regola, nemmeno passando per altri.',
  },
  value_not_orderable: {
    en: 'Must be a number or a date (2026-03-01) for this comparison: nothing else has an order',
    it: 'Per questo confronto deve essere un numero o una data (2026-03-01): nient’altro ha un ordine',
  },
  value_is_code: {
    en: 'This is a code, not a number (a leading zero, as in the postcode 01234): codes have no order, so compare it as equal or one of a list',
    it: 'È un codice, non un numero (uno zero iniziale, come nel CAP 01234): i codici non hanno un ordine, quindi confrontalo come uguale o come uno tra un elenco',
  },
  in_without_choices: { en: 'List at least one choice', it: 'Elenca almeno una scelta' },
  path_empty_part: {
    en: 'The path has an empty part (a..b, or a dot at an end): name each part',
    it: 'Il percorso ha una parte vuota (a..b, o un punto a un’estremità): dai un nome a ogni parte',
  },
  model_used_by_segment: {
    params: { segment: 'Hot leads', model: 'engagement' },
    en: 'The segment "Hot leads" asks about the score model engagement: keep the model, or change the segment first.',
    it: 'Il segmento "Hot leads" chiede del modello di punteggio engagement: tieni il modello, o cambia prima il segmento.',
  },
  model_used_by_journey: {
    params: { journey: 'Nurture', model: 'engagement' },
    en: 'The journey "Nurture" asks about the score model engagement: keep the model, or change the journey first.',
    it: 'Il percorso "Nurture" chiede del modello di punteggio engagement: tieni il modello, o cambia prima il percorso.',
  },
  topic_used_by_segment: {
    params: { segment: 'Readers', topic: 'news' },
    en: 'The segment "Readers" asks about the topic news: keep the topic, or change the segment first.',
    it: 'Il segmento "Readers" chiede dell’argomento news: tieni l’argomento, o cambia prima il segmento.',
  },
  topic_used_by_journey: {
    params: { journey: 'Digest', topic: 'news' },
    en: 'The journey "Digest" asks about or sends on the topic news: keep the topic, or change the journey first.',
    it: 'Il percorso "Digest" chiede dell’argomento news o invia con esso: tieni l’argomento, o cambia prima il percorso.',
  },
  stage_used_by_segment: {
    params: { segment: 'Qualified', stage: 'mql' },
    en: 'The segment "Qualified" asks about the stage mql: keep the stage, or change the segment first.',
    it: 'Il segmento "Qualified" chiede della fase mql: tieni la fase, o cambia prima il segmento.',
  },
  stage_used_by_journey: {
    params: { journey: 'Hand-off', stage: 'mql' },
    en: 'The journey "Hand-off" asks about the stage mql: keep the stage, or change the journey first.',
    it: 'Il percorso "Hand-off" chiede della fase mql: tieni la fase, o cambia prima il percorso.',
  },
  destination_used_by_journey: {
    params: { journey: 'Hand-off', destination: 'crm' },
    en: 'The journey "Hand-off" calls the destination crm: keep the destination, or change the journey first.',
    it: 'Il percorso "Hand-off" chiama la destinazione crm: tieni la destinazione, o cambia prima il percorso.',
  },
  threshold_over_cap: {
    params: { model: 'engagement', cap: '1000', atLeast: '1500' },
    en: 'engagement never scores more than 1,000 (its maximum score), so 1,500 would never be reached',
    it: 'engagement non supera mai 1000 (il suo punteggio massimo), quindi 1500 non sarebbe mai raggiunto',
  },
  stages_held_keep_lifecycle: {
    params: { stages: 'lead, sql' },
    en: 'Contacts are at lead, sql, so the lifecycle must stay (without rules it moves nobody).',
    it: 'Ci sono contatti nelle fasi lead, sql, quindi il ciclo di vita deve restare (senza regole non sposta nessuno).',
  },
  stages_held_keep_stages: {
    params: { stages: 'lead' },
    en: 'Contacts are at lead: keep those stages in the list.',
    it: 'Ci sono contatti nelle fasi lead: tienile nell’elenco.',
  },
  stages_held_keep_order: {
    params: { stage: 'sql', passed: 'lead, mql' },
    en: 'Contacts at sql have passed lead, mql, which must stay before sql (stages only move forward).',
    it: 'I contatti in fase sql sono già passati per lead, mql: devono restare prima di sql (le fasi vanno solo avanti).',
  },
  query_parameter_set_by_destination: {
    params: { parameter: 'key', destination: 'crm' },
    en: 'Its query sets key, which the destination crm sets itself',
    it: 'La sua query imposta key, che la destinazione crm imposta già da sé',
  },
  csv_unreadable: {
    params: { detail: 'Quote Not Closed: the parsing is finished with an opening quote at line 2' },
    en: 'The CSV could not be read, so nothing was added: Quote Not Closed: the parsing is finished with an opening quote at line 2',
    it: 'Il CSV non si legge, quindi non è stato aggiunto nulla: Quote Not Closed: the parsing is finished with an opening quote at line 2',
  },
  csv_no_rows: {
    en: 'The file holds a header but no rows: it needs a row per contact.',
    it: 'Il file ha un’intestazione ma nessuna riga: serve una riga per contatto.',
  },
  csv_column_repeated: {
    params: { count: '2', column: 'userid', columns: 'user_id, User ID' },
    en: 'The header has 2 columns read as userid (user_id, User ID): keep one, so that nothing is guessed.',
    it: 'L’intestazione ha 2 colonne lette come userid (user_id, User ID): tienine una, così non si tira a indovinare.',
  },
  csv_column_unnamed: {
    params: { column: '2' },
    en: 'Column 2 of the header has no name.',
    it: 'La colonna 2 dell’intestazione non ha un nome.',
  },
  csv_column_twice: {
    params: { column: 'email' },
    en: 'The header names email twice.',
    it: 'L’intestazione nomina email due volte.',
  },
  trait_name_form: {
    params: { max: '100', trait: '"a.b"' },
    en: 'A trait name is 1–100 characters without a dot ("a.b" is not)',
    it: 'Il nome di un attributo ha da 1 a 100 caratteri, senza punti ("a.b" no)',
  },
  url_credentials: {
    en: 'Must not hold a user name or password: send credentials as a header (Headers)',
    it: 'Non deve contenere nome utente o password: manda le credenziali come intestazione (Intestazioni)',
  },
  csv_too_many_rows: {
    params: { rows: '100001', max: '100000' },
    en: 'The file has 100,001 rows, over the 100,000 one import takes: split it, or use mops import events.',
    it: 'Il file ha 100.001 righe, oltre le 100.000 che un’importazione accetta: dividilo, o usa mops import events.',
  },
  sms_provider_used_by_journey: {
    params: { journey: 'Reminders' },
    en: 'The journey "Reminders" sends texts: keep the SMS provider, or change the journey first.',
    it: 'Il percorso "Reminders" invia SMS: tieni il provider SMS, o cambia prima il percorso.',
  },
  sms_base_url_not_alone: {
    en: 'Must be the API address alone, with no user name, password or query (the account SID and auth token authenticate)',
    it: 'Deve essere solo l’indirizzo dell’API, senza nome utente, password né query (ad autenticare sono l’account SID e l’auth token)',
  },
  header_set_by_mops: {
    params: { header: 'Content-Type' },
    en: 'Mops sets Content-Type on every call itself',
    it: 'Mops imposta Content-Type da sé in ogni chiamata',
  },
  secret_send_again: {
    en: 'Where or how it is sent changed: type it again (a stored secret is only kept for the address, and the protection, it was given for)',
    it: 'È cambiato dove o come viene inviato: inseriscilo di nuovo (un segreto salvato vale solo per l’indirizzo, e la protezione, per cui è stato dato)',
  },
};

describe('a refusal the server names by its reason, in the console’s language', () => {
  beforeAll(async () => {
    await setupI18n();
  });

  const worded = async (language: string, reason: RefusalReason, params?: Record<string, string>) => {
    await i18next.changeLanguage(language);
    return wordIssue(
      { code: 'refused', reason, ...(params ? { params } : {}) },
      i18next.t.bind(i18next),
      language,
    );
  };

  it.each(REFUSAL_REASONS)('words %s in English and Italian, with what it names', async (reason) => {
    const { params, en, it: italian } = WORDINGS[reason];
    expect(await worded('en', reason, params)).toBe(en);
    expect(await worded('it', reason, params)).toBe(italian);
  });
});
