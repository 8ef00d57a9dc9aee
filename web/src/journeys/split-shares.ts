/**
 * Weights as the shares of contacts they ask for, as percentages in `locale`: whole when those add up
 * to 100, else to a tenth — rounded whole, 1:1 with a small holdout read "45% · 45% · 9%", which a
 * reader takes for a mistake. No weight above zero, no shares (an empty list).
 */
export function shareLabels(weights: readonly number[], locale: string): string[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total <= 0) return [];
  const shares = weights.map((weight) => weight / total);
  const wholeSum = shares.reduce((sum, share) => sum + Math.round(share * 100), 0);
  const format = new Intl.NumberFormat(locale, {
    style: 'percent',
    maximumFractionDigits: wholeSum === 100 ? 0 : 1,
  });
  return shares.map((share) => format.format(share));
}
