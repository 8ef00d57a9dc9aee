/** A Zod issue as far as telling people what is wrong needs it (a failed union carries its branches'). */
export interface InputIssue {
  path: readonly PropertyKey[];
  message: string;
  code?: string;
  errors?: readonly (readonly InputIssue[])[];
  /** The keys an object does not know (`unrecognized_keys`). */
  keys?: readonly string[];
  /** Zod's note on a failed union: `No matching discriminator` when no branch's `type` fits. */
  note?: string;
  /** What a custom check attached to its issue (e.g. a journey's `STEP_REFERENCE`). */
  params?: Record<string, unknown>;
  /** What a size check (`too_big`, `too_small`) measured: a number, a text's length, a list's. */
  origin?: string;
  maximum?: unknown;
  minimum?: unknown;
  inclusive?: boolean;
  /** The type a value should have had (`invalid_type`). */
  expected?: string;
  /** The format a text should have had (`invalid_format`: email, url, regex, …). */
  format?: string;
  /** The values allowed (`invalid_value`). */
  values?: readonly unknown[];
}

/**
 * What a standard check found wrong, for a client to word in its own language (the console does, in
 * Italian too); `message` stays the English wording. `required` is a value missing altogether.
 */
export type IssueDetail =
  | { code: 'required' }
  | { code: 'unknown_field' }
  | {
      code: 'too_big' | 'too_small';
      origin: 'number' | 'string' | 'array';
      limit: number;
      inclusive: boolean;
    }
  | { code: 'invalid_type'; expected: string }
  | { code: 'invalid_format'; format: string }
  | { code: 'invalid_value'; values: Array<string | number | boolean | null> }
  /** A request Mops refused for a reason of its own (not a value's shape), named for clients to word. */
  | { code: 'refused'; reason: RefusalReason; params?: Record<string, string> };

/**
 * Refusals a person meets in the console (a wrong password, the last owner, a channel not set up),
 * which it words in the user's language; others stay in the server's English. Each is named where it
 * is thrown (`issue`, or a Zod check's `params.reason`), so rewording its English loses nothing.
 */
export const REFUSAL_REASONS = [
  'wrong_credentials',
  'wrong_current_password',
  'last_owner',
  'smtp_not_configured',
  'sms_not_configured',
  'duration_format',
  'duration_too_long',
  'loop_without_wait',
  'csv_empty',
  'csv_no_key_column',
  'csv_semicolons',
  // Segment editor.
  'segment_used_by_segments',
  'segment_used_by_journeys',
  'segment_used_by_segments_and_journeys',
  'segments_circular',
  // A comparison that could never hold (a segment rule, a score model's rule).
  'value_not_orderable',
  'value_is_code',
  'in_without_choices',
  'path_empty_part',
  // Settings a segment or a journey still uses.
  'model_used_by_segment',
  'model_used_by_journey',
  'topic_used_by_segment',
  'topic_used_by_journey',
  'stage_used_by_segment',
  'stage_used_by_journey',
  'destination_used_by_journey',
  // Lifecycle rules, and the stages contacts are at.
  'threshold_over_cap',
  'stages_held_keep_lifecycle',
  'stages_held_keep_stages',
  'stages_held_keep_order',
  // Journey publish.
  'query_parameter_set_by_destination',
  // A static list's upload.
  'csv_unreadable',
  'csv_no_rows',
  'csv_column_repeated',
  // A contacts import.
  'csv_column_unnamed',
  'csv_column_twice',
  'trait_name_form',
  'csv_too_many_rows',
  // SMS, webhook (and SMTP) settings.
  'url_credentials',
  'sms_base_url_not_alone',
  'sms_provider_used_by_journey',
  'header_set_by_mops',
  'secret_send_again',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

const SIZED_ORIGINS = new Set(['number', 'int', 'string', 'array']);

/** The detail of a leaf issue, when it is one of the standard checks a client can word. */
function detailOf(issue: InputIssue): IssueDetail | undefined {
  switch (issue.code) {
    case 'too_big':
    case 'too_small': {
      const limit = Number(issue.code === 'too_big' ? issue.maximum : issue.minimum);
      if (!issue.origin || !SIZED_ORIGINS.has(issue.origin) || !Number.isFinite(limit)) return undefined;
      const origin = issue.origin === 'int' ? 'number' : (issue.origin as 'number' | 'string' | 'array');
      return { code: issue.code, origin, limit, inclusive: issue.inclusive !== false };
    }
    case 'invalid_type':
      // Zod words a missing value as a value of the wrong type, received undefined.
      if (/received undefined$/.test(issue.message)) return { code: 'required' };
      return issue.expected ? { code: 'invalid_type', expected: issue.expected } : undefined;
    case 'invalid_format':
      return issue.format ? { code: 'invalid_format', format: issue.format } : undefined;
    case 'invalid_value': {
      const values = (issue.values ?? []).filter(
        (value): value is string | number | boolean | null =>
          value === null || ['string', 'number', 'boolean'].includes(typeof value),
      );
      return values.length > 0 ? { code: 'invalid_value', values } : undefined;
    }
    case 'custom': {
      // A check of Mops's own that names its reason: worded by clients as the refusals are.
      const reason = issue.params?.reason;
      return typeof reason === 'string' && (REFUSAL_REASONS as readonly string[]).includes(reason)
        ? { code: 'refused', reason: reason as RefusalReason }
        : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * The issue to report, with its full path. When no branch of a union (`all`/`any`/`not` or a leaf of a
 * segment rule, a step of a journey) fits, Zod reports only "Invalid input" where the union stands;
 * the branch that got furthest into the input says what is wrong, and where ("rule.all.0.op").
 */
export function specificIssue(issue: InputIssue): {
  path: PropertyKey[];
  message: string;
  detail?: IssueDetail | undefined;
} {
  const here = [...issue.path];
  // A misspelt key is named where it is ("rule.window"), as a missing one would be.
  const [unknown, ...others] = issue.code === 'unrecognized_keys' ? (issue.keys ?? []) : [];
  if (unknown !== undefined)
    return {
      path: [...here, unknown],
      message: `is not a known field${others.length > 0 ? ` (nor is ${others.join(', ')})` : ''}`,
      detail: { code: 'unknown_field' },
    };
  if (issue.code !== 'invalid_union' || !issue.errors || issue.errors.length === 0)
    return { path: here, message: issue.message, detail: detailOf(issue) };
  // A branch that finds keys it does not know at its own level is the wrong shape (an `all` given a
  // leaf): the others say more, unless every branch is.
  const hasUnknownKeys = (branch: readonly InputIssue[]) =>
    branch.some((inner) => inner.code === 'unrecognized_keys' && inner.path.length === 0);
  const shaped = issue.errors.filter((branch) => !hasUnknownKeys(branch));
  // When every branch is, the one knowing most of the keys given was meant (a leaf with `operator`
  // for `op`, not an `all` knowing none of them): its unknown key is the mistake to name.
  if (shaped.length === 0) {
    const ownUnknown = (branch: readonly InputIssue[]) =>
      branch.find((inner) => inner.code === 'unrecognized_keys' && inner.path.length === 0);
    const unknownCount = (branch: readonly InputIssue[]) => ownUnknown(branch)?.keys?.length ?? 0;
    const fewest = Math.min(...issue.errors.map(unknownCount));
    const closest = issue.errors.filter((branch) => unknownCount(branch) === fewest);
    const mistake = closest.length === 1 && closest[0] ? ownUnknown(closest[0]) : undefined;
    if (mistake) {
      const found = specificIssue(mistake);
      return { ...found, path: [...here, ...found.path] };
    }
  }
  // So is a discriminated union whose discriminator alone fits nothing while another branch finds no
  // fault there: a leaf finding no `type` in an `all` whose own rules hold the mistakes.
  const isDiscriminatorOnly = (branch: readonly InputIssue[]) =>
    branch.length === 1 && branch[0]?.note === 'No matching discriminator';
  const samePath = (a: readonly PropertyKey[], b: readonly PropertyKey[]) =>
    a.length === b.length && a.every((key, index) => key === b[index]);
  const fitting = shaped.filter(
    (branch) =>
      !isDiscriminatorOnly(branch) ||
      !shaped.some(
        (other) =>
          !isDiscriminatorOnly(other) && other.every((inner) => !samePath(inner.path, branch[0]?.path ?? [])),
      ),
  );
  // Of the others, the branch that found least wrong is the one meant (a `score` condition missing
  // its value, not a `trait` one with the wrong source); the furthest into the input breaks a tie.
  let best: ReturnType<typeof specificIssue> | undefined;
  let bestCount = Number.POSITIVE_INFINITY;
  for (const branch of fitting.length > 0 ? fitting : issue.errors) {
    for (const inner of branch) {
      const found = specificIssue(inner);
      const candidate = { ...found, path: [...here, ...found.path] };
      const isBetter =
        branch.length < bestCount ||
        (branch.length === bestCount && (!best || candidate.path.length > best.path.length));
      if (isBetter) {
        best = candidate;
        bestCount = branch.length;
      }
    }
  }
  return best ?? { path: here, message: issue.message };
}

/** `specificIssue` as one field name and message: `rule.all.0.op`, `Invalid option: …`. */
export function describeIssue(
  issue: InputIssue | undefined,
  prefix: readonly PropertyKey[] = [],
): { field: string; message: string; detail?: IssueDetail | undefined } {
  if (!issue) return { field: prefix.join('.'), message: 'is invalid' };
  const { path, message, detail } = specificIssue(issue);
  return { field: [...prefix, ...path].map(String).join('.'), message, detail };
}

/**
 * The path of the first key in `input` that parsing left out of `output`: a schema that strips
 * unknown keys (rather than refusing them) would otherwise take a misspelt one (`half_life`) in
 * silence. Keys named in `passedOver` (shown by the API but never stored) are allowed anywhere.
 */
export function firstDroppedKey(
  input: unknown,
  output: unknown,
  passedOver: ReadonlySet<string> = new Set(),
  path: readonly PropertyKey[] = [],
): PropertyKey[] | undefined {
  if (Array.isArray(input) && Array.isArray(output)) {
    for (const [index, item] of input.entries()) {
      const dropped = firstDroppedKey(item, output[index], passedOver, [...path, index]);
      if (dropped) return dropped;
    }
    return undefined;
  }
  if (!isPlainObject(input) || !isPlainObject(output)) return undefined;
  for (const [key, value] of Object.entries(input)) {
    if (!Object.hasOwn(output, key)) {
      if (value === undefined || passedOver.has(key)) continue;
      return [...path, key];
    }
    const dropped = firstDroppedKey(value, output[key], passedOver, [...path, key]);
    if (dropped) return dropped;
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
