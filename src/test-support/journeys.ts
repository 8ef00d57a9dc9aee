/** A journey whose instances wait an hour after a sign-up, then set `reminded`: one timer each. */
export const REMINDER_AN_HOUR_AFTER_SIGN_UP = {
  name: 'Reminder',
  entry: { trigger: { type: 'event', event: 'Signed Up' } },
  start: 'wait',
  steps: [
    { id: 'wait', type: 'wait', duration: '1h', next: 'remind' },
    { id: 'remind', type: 'update_traits', set: { reminded: true }, next: 'end' },
    { id: 'end', type: 'exit' },
  ],
};
