/** A fit model: 20 points for contacts in Italy. */
export const ITALY_FIT_MODEL = {
  id: 'fit',
  name: 'Fit',
  rules: [
    {
      id: 'italy',
      kind: 'fit' as const,
      when: { type: 'trait' as const, path: 'country', op: 'eq' as const, value: 'IT' },
      points: 20,
    },
  ],
};
