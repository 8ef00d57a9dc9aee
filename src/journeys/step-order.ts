import { type JourneyDefinition, nextPointers } from '../core/journey-definition.js';

/**
 * The steps a contact can reach, in the order contacts go through them: each after every step that
 * leads to it (a connection looping back to a step on the way aside), and of the steps that could
 * come next, the one nearer the start first. Breadth-first alone put the exit a wait's `next` leads to
 * before the reminder its timeout leads to, which leads to that same exit.
 */
export function stepsInOrder(definition: Pick<JourneyDefinition, 'start' | 'steps'>): string[] {
  const byId = new Map(definition.steps.map((step) => [step.id, step]));
  const nextOf = (id: string) => {
    const step = byId.get(id);
    const targets = step ? nextPointers(step).map(([, next]) => next) : [];
    return [...new Set(targets)].filter((next) => byId.has(next));
  };
  const nearness = new Map<string, number>();
  const queue = byId.has(definition.start) ? [definition.start] : [];
  for (const id of queue) nearness.set(id, 0);
  for (let id = queue.shift(); id !== undefined; id = queue.shift())
    for (const next of nextOf(id))
      if (!nearness.has(next)) {
        nearness.set(next, nearness.size);
        queue.push(next);
      }

  const loopsBack = new Set<string>();
  const onPath = new Set<string>();
  const visited = new Set<string>();
  const visit = (id: string) => {
    visited.add(id);
    onPath.add(id);
    for (const next of nextOf(id)) {
      if (onPath.has(next)) loopsBack.add(`${id}>${next}`);
      else if (!visited.has(next)) visit(next);
    }
    onPath.delete(id);
  };
  if (nearness.size > 0) visit(definition.start);
  const forward = (id: string) => nextOf(id).filter((next) => !loopsBack.has(`${id}>${next}`));

  const leadingIn = new Map<string, number>([...nearness.keys()].map((id) => [id, 0]));
  for (const id of nearness.keys())
    for (const next of forward(id)) leadingIn.set(next, (leadingIn.get(next) ?? 0) + 1);
  const order: string[] = [];
  const ready = [...leadingIn].filter(([, count]) => count === 0).map(([id]) => id);
  while (ready.length > 0) {
    ready.sort((a, b) => (nearness.get(a) ?? 0) - (nearness.get(b) ?? 0));
    const id = ready.shift() as string;
    order.push(id);
    for (const next of forward(id)) {
      const left = (leadingIn.get(next) ?? 0) - 1;
      leadingIn.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  return order;
}

const WAITING_STEPS: ReadonlySet<string> = new Set(['wait', 'wait_until', 'wait_for_event']);

/**
 * A loop contacts would go round without stopping — steps leading back to one another with no wait
 * among them — as the ids around it, the first repeated at the end; undefined when there is none.
 * Each pass would send its messages again before the executor's guard ended the instance.
 */
export function loopWithoutWait(definition: Pick<JourneyDefinition, 'steps'>): string[] | undefined {
  const byId = new Map(definition.steps.map((step) => [step.id, step]));
  const isWaiting = (id: string) => WAITING_STEPS.has(byId.get(id)?.type ?? 'wait');
  const nextOf = (id: string) => {
    const step = byId.get(id);
    if (!step || isWaiting(id)) return [];
    return [...new Set(nextPointers(step).map(([, next]) => next))].filter((next) => !isWaiting(next));
  };
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const onPath = path.indexOf(id);
    if (onPath >= 0) return [...path.slice(onPath), id];
    if (done.has(id)) return undefined;
    path.push(id);
    for (const next of nextOf(id)) {
      const loop = visit(next);
      if (loop) return loop;
    }
    path.pop();
    done.add(id);
    return undefined;
  };
  for (const step of definition.steps) {
    const loop = visit(step.id);
    if (loop) return loop;
  }
  return undefined;
}
