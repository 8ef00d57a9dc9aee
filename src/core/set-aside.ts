/** How an operator resolved something set aside: redone now, or marked handled without redoing it. */
export const SET_ASIDE_RESOLUTIONS = ['retried', 'dismissed'] as const;
export type SetAsideResolutionKind = (typeof SET_ASIDE_RESOLUTIONS)[number];

/**
 * Who resolved a set-aside event or timer, when and how: kept for audit, the record staying.
 *
 * @example { how: 'dismissed', at: 1764583200000, by: 'user:usr_…' }
 */
export interface SetAsideResolution {
  how: SetAsideResolutionKind;
  at: number;
  /** `user:<id>` for an admin's session, `api-key:<id>` for a secret key; null when not known. */
  by: string | null;
}
