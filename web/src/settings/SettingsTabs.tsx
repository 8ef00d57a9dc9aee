import { type KeyboardEvent, type ReactNode, useId, useRef } from 'react';

export interface SettingsTab<K extends string> {
  id: K;
  label: string;
}

/** The tab a key press moves to: arrows wrap around, Home and End go to the ends; undefined for other keys. */
export function tabAfterKey<K extends string>(
  tabs: readonly SettingsTab<K>[],
  current: K,
  key: string,
): K | undefined {
  const index = tabs.findIndex((tab) => tab.id === current);
  const last = tabs.length - 1;
  const moves: Record<string, number> = {
    ArrowRight: index >= last ? 0 : index + 1,
    ArrowDown: index >= last ? 0 : index + 1,
    ArrowLeft: index <= 0 ? last : index - 1,
    ArrowUp: index <= 0 ? last : index - 1,
    Home: 0,
    End: last,
  };
  const target = moves[key];
  return target === undefined ? undefined : tabs[target]?.id;
}

/**
 * WAI-ARIA tabs, laid out as a vertical list beside the panel: Tab reaches the selected tab, the arrow
 * keys (and Home/End) move between tabs and show their panel.
 */
export function SettingsTabs<K extends string>(props: {
  label: string;
  tabs: readonly SettingsTab<K>[];
  selected: K;
  onSelect(id: K): void;
  children: ReactNode;
}) {
  const id = useId();
  const buttons = useRef(new Map<K, HTMLButtonElement>());

  function onKeyDown(event: KeyboardEvent) {
    const target = tabAfterKey(props.tabs, props.selected, event.key);
    if (target === undefined) return;
    event.preventDefault();
    props.onSelect(target);
    buttons.current.get(target)?.focus();
  }

  return (
    <div className="settings-layout">
      <div className="settings-tabs" role="tablist" aria-label={props.label} aria-orientation="vertical">
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
        className="settings-panel"
        role="tabpanel"
        id={`${id}-panel`}
        aria-labelledby={`${id}-tab-${props.selected}`}
      >
        {props.children}
      </section>
    </div>
  );
}
