/**
 * Weights as the shares of contacts they ask for, as percentages in `locale`: whole when those add up
 * to 100 and none of them rounds a share to nothing, else to a tenth — rounded whole, 1:1 with a small
 * holdout read "45% · 45% · 9%", which a reader takes for a mistake, and 1:100:100 "0% · 50% · 50%",
 * a holdout that seems not to be there. No weight above zero, no shares (an empty list).
 */
export function shareLabels(weights: readonly number[], locale: string): string[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total <= 0) return [];
  const shares = weights.map((weight) => weight / total);
  const wholes = shares.map((share) => Math.round(share * 100));
  const isWholeEnough =
    wholes.reduce((sum, whole) => sum + whole, 0) === 100 &&
    wholes.every((whole, index) => whole > 0 || shares[index] === 0);
  const format = new Intl.NumberFormat(locale, {
    style: 'percent',
    maximumFractionDigits: isWholeEnough ? 0 : 1,
  });
  return shares.map((share) => format.format(share));
}
