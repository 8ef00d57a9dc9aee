/**
 * How long a score rule's half-life may be. Pure, importing only duration-ms.ts (itself import-free),
 * so that the console checks a half-life by the same rule before saving (web/src/scoring/model-form.ts)
 * as the server does on saving (channels/settings.ts).
 */
import { durationMs, MAX_DURATION_MS, UNIT_MS } from './duration-ms.js';

/** The shortest half-life: shorter is no decay anyone could watch (and 0 would divide by zero). */
export const MIN_HALF_LIFE_MS = UNIT_MS.m;

/** Why a half-life written as a `Duration` (`30d`) is not one a rule may have, or undefined. */
export function halfLifeProblem(halfLife: string): 'too_short' | 'too_long' | undefined {
  const ms = durationMs(halfLife);
  if (ms < MIN_HALF_LIFE_MS) return 'too_short';
  if (ms > MAX_DURATION_MS) return 'too_long';
  return undefined;
}
