import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, workspacePath } from '../app/api.js';
import { useSession } from '../app/session.js';
import type { HandOffJson, LifecycleJson } from './lifecycle-form.js';
import type { ScoreModelJson } from './model-form.js';

/**
 * The workspace settings document as far as this screen reads it. The rest (SMTP, topics, …) belongs
 * to the settings screen: it is sent back exactly as read.
 */
export interface SettingsDocument {
  scoring?: { models: ScoreModelJson[] };
  lifecycle?: LifecycleJson;
  handOff?: HandOffJson;
  webhooks?: { destinations: Array<{ id: string; url: string }> };
  [other: string]: unknown;
}

const settingsKey = (workspaceId: string) => ['scoring-settings', workspaceId];

/** The settings document; `enabled: false` leaves it unasked (a member may not read it). */
export function useIntentSettings(options: { enabled?: boolean } = {}) {
  const { workspace } = useSession();
  return useQuery({
    queryKey: settingsKey(workspace.id),
    queryFn: () => api<SettingsDocument>('GET', workspacePath(workspace.id, '/settings')),
    enabled: options.enabled ?? true,
  });
}

/**
 * Saves a change to the scoring, lifecycle or hand-off part. PUT replaces the whole document, so the
 * change is applied to the document as it is now on the server (not as this page first read it), which
 * keeps what someone else saved meanwhile in other parts.
 */
export function useSaveIntentSettings() {
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const path = workspacePath(workspace.id, '/settings');
  return useMutation({
    mutationFn: async (change: (current: SettingsDocument) => SettingsDocument) => {
      const current = await api<SettingsDocument>('GET', path);
      return api<SettingsDocument>('PUT', path, change(current));
    },
    onSuccess: async (saved) => {
      queryClient.setQueryData(settingsKey(workspace.id), saved);
      await queryClient.invalidateQueries({ queryKey: ['settings', workspace.id] });
    },
  });
}

export const modelsOf = (settings: SettingsDocument | undefined) => settings?.scoring?.models ?? [];

/** The document with `key` removed when `value` is undefined, else set to it. */
export function withPart<K extends 'lifecycle' | 'handOff'>(
  settings: SettingsDocument,
  key: K,
  value: SettingsDocument[K] | undefined,
): SettingsDocument {
  const { [key]: _previous, ...rest } = settings;
  return value === undefined ? rest : { ...rest, [key]: value };
}
