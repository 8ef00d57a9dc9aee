/** One bar of the histogram: scores from `from` up to (not including) `to`. */
export interface Bin {
  from: number;
  to: number;
  count: number;
}

/** Beyond this many bars the empty ones between are left out rather than drawn. */
const MAX_FILLED_BINS = 200;

/**
 * The server's buckets (only those with contacts in them) as contiguous bars, empty ones included, so
 * that the chart's x axis is a true scale.
 */
export function histogram(buckets: ReadonlyArray<{ from: number; count: number }>, size: number): Bin[] {
  const sorted = [...buckets].sort((a, b) => a.from - b.from);
  const first = sorted[0];
  const last = sorted.at(-1);
  if (!first || !last) return [];
  const span = Math.round((last.from - first.from) / size) + 1;
  if (span > MAX_FILLED_BINS) return sorted.map((bucket) => ({ ...bucket, to: bucket.from + size }));
  const counts = new Map(sorted.map((bucket) => [Math.round(bucket.from / size), bucket.count]));
  const firstIndex = Math.round(first.from / size);
  return Array.from({ length: span }, (_, offset) => {
    const from = (firstIndex + offset) * size;
    return { from, to: from + size, count: counts.get(firstIndex + offset) ?? 0 };
  });
}

/** The fullest bar, for the chart's text summary; the lowest one when several tie. */
export function fullestBin(bins: readonly Bin[]): Bin | undefined {
  return bins.reduce<Bin | undefined>(
    (best, bin) => (!best || bin.count > best.count ? bin : best),
    undefined,
  );
}

/**
 * Whether a bar holds the model's cap alone: the one starting at the cap, wider than a point, holds
 * nothing above it (no score goes past the cap), so "100 to under 110" would say what is not there.
 */
export function holdsCapAlone(bin: Pick<Bin, 'from' | 'to'>, cap: number | undefined): boolean {
  return cap !== undefined && bin.from === cap && bin.to - bin.from > 1;
}
