import { describe, expect, it } from 'vitest';
import { readDraft } from './journey-draft.js';

describe('readDraft', () => {
  it('trims the name of an unfinished draft as of a complete one', () => {
    const unfinished = {
      name: '  Welcome \n',
      entry: { trigger: { type: 'event', event: '' } },
      start: '',
      steps: [{ id: 'send_email_1', type: 'send_email', template: '' }],
    };
    const complete = {
      ...unfinished,
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      start: 'done',
      steps: [{ id: 'done', type: 'exit' }],
    };
    const names = [unfinished, complete].map((draft) => {
      const reading = readDraft(draft);
      return reading.isWellFormed && [reading.isComplete, reading.draft.name];
    });
    expect(names).toEqual([
      [false, 'Welcome'],
      [true, 'Welcome'],
    ]);
  });
});
