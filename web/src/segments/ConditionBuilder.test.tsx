// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setupI18n } from '../i18n.js';
import { errorKey } from './builder-context.js';
import { ConditionBuilder } from './ConditionBuilder.js';
import './messages.js';
import { type ApiRule, builderFromRule, type GroupNode, ruleFromBuilder } from './rule-model.js';
import { locateField } from './rule-tree.js';

let latest: GroupNode | undefined;

function Harness(props: { rule: ApiRule; errors?: ReadonlyMap<string, string> }) {
  const [root, setRoot] = useState(() => builderFromRule(props.rule));
  latest = root;
  return (
    <ConditionBuilder
      root={root}
      onChange={setRoot}
      errors={props.errors ?? new Map()}
      segments={[{ id: 'seg_buyers', name: 'Buyers' }]}
      definitions={{
        models: [{ id: 'engagement', name: 'Engagement' }],
        stages: ['lead', 'mql', 'customer'],
        topics: [
          { id: 'marketing', name: 'Marketing' },
          { id: 'product-news', name: 'Product news' },
        ],
      }}
    />
  );
}

const current = () => ruleFromBuilder(latest as GroupNode);

describe('the condition builder', () => {
  beforeAll(async () => {
    await setupI18n();
  });
  afterEach(cleanup);

  it('nests an OR group under the AND, negates it and edits its conditions', () => {
    render(<Harness rule={{ all: [{ type: 'trait', path: 'plan', op: 'eq', value: 'pro' }] }} />);
    fireEvent.click(screen.getByRole('button', { name: 'Add group' }));
    const group = within(screen.getByTestId('node-rule.1'));
    expect((group.getByLabelText('Contacts must match') as HTMLSelectElement).value).toBe('any');
    fireEvent.change(group.getByLabelText('Event name'), { target: { value: 'Signed In' } });
    fireEvent.change(group.getByLabelText('In the last (empty = ever)'), { target: { value: '7d' } });
    fireEvent.click(group.getAllByLabelText('NOT (exclude who matches)')[0] as HTMLElement);
    fireEvent.click(group.getByRole('button', { name: 'Add condition' }));
    const added = within(screen.getByTestId('node-rule.1.1'));
    fireEvent.change(added.getByLabelText('Condition'), { target: { value: 'segment' } });
    fireEvent.change(added.getByLabelText('Segment'), { target: { value: 'seg_buyers' } });
    fireEvent.change(added.getByLabelText('Contact is'), { target: { value: 'not_in' } });
    expect(current()).toEqual({
      all: [
        { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
        {
          not: {
            any: [
              { type: 'event', event: 'Signed In', where: [], within: '7d', atLeast: 1 },
              { type: 'segment', segment: 'seg_buyers', is: 'not_in' },
            ],
          },
        },
      ],
    });
    fireEvent.click(group.getByRole('button', { name: 'Remove group' }));
    expect(current()).toEqual({ all: [{ type: 'trait', path: 'plan', op: 'eq', value: 'pro' }] });
  });

  it('adds property filters to an event and hides the value of "is set"', () => {
    render(<Harness rule={{ all: [{ type: 'event', event: 'Order Completed', where: [], atLeast: 2 }] }} />);
    const event = within(screen.getByTestId('node-rule.0'));
    fireEvent.click(event.getByRole('button', { name: 'Add property filter' }));
    const filter = within(screen.getByTestId('filter-0'));
    fireEvent.change(filter.getByLabelText('Property'), { target: { value: 'coupon' } });
    fireEvent.change(filter.getByLabelText('Operator'), { target: { value: 'exists' } });
    expect(filter.queryByLabelText('Value')).toBeNull();
    expect(current()).toEqual({
      all: [
        {
          type: 'event',
          event: 'Order Completed',
          where: [{ path: 'coupon', op: 'exists' }],
          atLeast: 2,
        },
      ],
    });
  });

  it('shows a server error beside the control it names', () => {
    const rule: ApiRule = {
      all: [
        { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
        { any: [{ type: 'event', event: 'Order Completed', where: [], atLeast: 3, atMost: 1 }] },
      ],
    };
    // The tree the harness builds has new ids: locate the field on the tree it renders.
    const errorsFor = (root: GroupNode) => {
      const place = locateField(root, 'rule.all.1.any.0.atMost');
      return new Map(
        place ? [[errorKey(place.nodeId, place.field), 'atMost must not be below atLeast']] : [],
      );
    };
    const { rerender } = render(<Harness rule={rule} />);
    rerender(<Harness rule={rule} errors={errorsFor(latest as GroupNode)} />);
    const atMost = within(screen.getByTestId('node-rule.1.0')).getByLabelText('At most (times, optional)');
    expect(atMost.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(atMost.getAttribute('aria-describedby') ?? '')?.textContent).toBe(
      'atMost must not be below atLeast',
    );
  });

  it('offers the workspace’s topics and score models by name, and ticks its stages', () => {
    render(
      <Harness
        rule={{
          all: [
            { type: 'subscription', topic: 'marketing', subscribed: true },
            { type: 'score', model: 'engagement', min: 10 },
            { type: 'lifecycle', stages: ['mql'] },
          ],
        }}
      />,
    );
    const choices = (label: RegExp) => {
      const select = screen.getByLabelText(label) as HTMLSelectElement;
      return [...select.options].map((option) => [option.value, option.textContent]);
    };
    expect(choices(/topic/i)).toEqual([
      ['marketing', 'Marketing'],
      ['product-news', 'Product news'],
    ]);
    expect(choices(/model/i)).toEqual([['engagement', 'Engagement']]);
    const stage = (name: string) => screen.getByRole('checkbox', { name }) as HTMLInputElement;
    expect(['lead', 'mql', 'customer'].map((name) => stage(name).checked)).toEqual([false, true, false]);
    fireEvent.click(stage('customer'));
    fireEvent.click(stage('mql'));
    expect(current()).toMatchObject({ all: [{}, {}, { type: 'lifecycle', stages: ['customer'] }] });
  });
});
