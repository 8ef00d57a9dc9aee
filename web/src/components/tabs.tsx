import { type KeyboardEvent, type ReactNode, useId, useRef } from 'react';

export interface Tab<K extends string> {
  id: K;
  label: string;
}

/** The tab a key press moves to: arrows wrap around, Home and End go to the ends; undefined for other keys. */
export function tabAfterKey<K extends string>(
  tabs: readonly Tab<K>[],
  current: K,
  key: string,
): K | undefined {
  const index = tabs.findIndex((tab) => tab.id === current);
  const last = tabs.length - 1;
  const next = index >= last ? 0 : index + 1;
  const previous = index <= 0 ? last : index - 1;
  const moves: Record<string, number> = {
    ArrowRight: next,
    ArrowDown: next,
    ArrowLeft: previous,
    ArrowUp: previous,
    Home: 0,
    End: last,
  };
  const target = moves[key];
  return target === undefined ? undefined : tabs[target]?.id;
}

/**
 * WAI-ARIA tabs with automatic activation: Tab reaches the selected tab, the arrow keys (and Home/End)
 * move between tabs and show their panel. Horizontal above the panel, or vertical beside it.
 */
export function Tabs<K extends string>(props: {
  label: string;
  tabs: readonly Tab<K>[];
  selected: K;
  onSelect(id: K): void;
  orientation?: 'horizontal' | 'vertical';
  children: ReactNode;
}) {
  const id = useId();
  const buttons = useRef(new Map<K, HTMLButtonElement>());
  const orientation = props.orientation ?? 'horizontal';

  function onKeyDown(event: KeyboardEvent) {
    const target = tabAfterKey(props.tabs, props.selected, event.key);
    if (target === undefined) return;
    event.preventDefault();
    props.onSelect(target);
    buttons.current.get(target)?.focus();
  }

  return (
    <div className={`tabs-layout tabs-${orientation}`}>
      <div className="tabs" role="tablist" aria-label={props.label} aria-orientation={orientation}>
        {props.tabs.map((tab) => {
          const isSelected = tab.id === props.selected;
          return (
            <button
              key={tab.id}
              ref={(button) => {
                if (button) buttons.current.set(tab.id, button);
                else buttons.current.delete(tab.id);
              }}
              type="button"
              role="tab"
              id={`${id}-tab-${tab.id}`}
              aria-selected={isSelected}
              aria-controls={`${id}-panel`}
              tabIndex={isSelected ? 0 : -1}
              onClick={() => props.onSelect(tab.id)}
              onKeyDown={onKeyDown}
            >
              {tab.label}
            </button>
          );
        })}
      </div>
      <section
        className="tab-panel"
        role="tabpanel"
        id={`${id}-panel`}
        aria-labelledby={`${id}-tab-${props.selected}`}
      >
        {props.children}
      </section>
    </div>
  );
}
