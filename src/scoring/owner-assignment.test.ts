import { describe, expect, it } from 'vitest';
import { HandOffSettings } from '../core/hand-off.js';
import { assignOwner } from './owner-assignment.js';

const handOff = HandOffSettings.parse({
  owners: [
    { id: 'ana', name: 'Ana', email: 'ana@example.com' },
    { id: 'ben', name: 'Ben', email: 'ben@example.com' },
    { id: 'cy', name: 'Cy', email: 'cy@example.com' },
  ],
  assignment: [
    { when: { type: 'account_trait', path: 'employees', op: 'gte', value: 1000 }, owner: 'cy' },
    { when: { type: 'trait', path: 'country', op: 'in', value: ['IT', 'ES'] }, owner: 'ana' },
  ],
});

describe('sales owner assignment', () => {
  it('takes the first rule that holds, on traits or account traits', () => {
    const enterprise = { traits: { country: 'IT' }, accounts: [{ employees: 5000 }] };
    expect(assignOwner(handOff, enterprise, 0, 0)).toEqual({ owner: handOff.owners[2], by: 'rule' });
    expect(assignOwner(handOff, { traits: { country: 'ES' }, accounts: [] }, 7, 0).owner.id).toBe('ana');
  });

  it('deals everyone else out in turn', () => {
    const nobody = { traits: {}, accounts: [] };
    expect([0, 1, 2, 3, 4].map((turn) => assignOwner(handOff, nobody, turn, 0))).toEqual(
      ['ana', 'ben', 'cy', 'ana', 'ben'].map((id) => ({
        owner: handOff.owners.find((o) => o.id === id),
        by: 'round_robin',
      })),
    );
  });

  it('refuses a rule naming an unknown owner, naming the field, and has working defaults', () => {
    const bad = HandOffSettings.safeParse({
      owners: [{ id: 'ana', name: 'Ana', email: 'ana@example.com' }],
      assignment: [{ when: { type: 'trait', path: 'x', op: 'exists' }, owner: 'zed' }],
    });
    expect(bad.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['assignment.0.owner']);
    expect(HandOffSettings.parse({ owners: [{ id: 'a', name: 'A', email: 'a@example.com' }] })).toMatchObject(
      {
        stage: 'mql',
        acceptWithin: '2d',
        recycleOnMiss: false,
      },
    );
  });
});
