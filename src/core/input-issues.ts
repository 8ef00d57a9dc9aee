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
}

/**
 * The issue to report, with its full path. When no branch of a union (`all`/`any`/`not` or a leaf of a
 * segment rule, a step of a journey) fits, Zod reports only "Invalid input" where the union stands;
 * the branch that got furthest into the input says what is wrong, and where ("rule.all.0.op").
 */
export function specificIssue(issue: InputIssue): { path: PropertyKey[]; message: string } {
  const here = [...issue.path];
  // A misspelt key is named where it is ("rule.window"), as a missing one would be.
  const [unknown, ...others] = issue.code === 'unrecognized_keys' ? (issue.keys ?? []) : [];
  if (unknown !== undefined)
    return {
      path: [...here, unknown],
      message: `is not a known field${others.length > 0 ? ` (nor is ${others.join(', ')})` : ''}`,
    };
  if (issue.code !== 'invalid_union' || !issue.errors || issue.errors.length === 0)
    return { path: here, message: issue.message };
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
      return { path: [...here, ...found.path], message: found.message };
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
  let best: { path: PropertyKey[]; message: string } | undefined;
  let bestCount = Number.POSITIVE_INFINITY;
  for (const branch of fitting.length > 0 ? fitting : issue.errors) {
    for (const inner of branch) {
      const found = specificIssue(inner);
      const candidate = { path: [...here, ...found.path], message: found.message };
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
): { field: string; message: string } {
  if (!issue) return { field: prefix.join('.'), message: 'is invalid' };
  const { path, message } = specificIssue(issue);
  return { field: [...prefix, ...path].map(String).join('.'), message };
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
