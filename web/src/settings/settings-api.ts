import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, workspacePath } from '../app/api.js';
import { useSession } from '../app/session.js';
import type { SettingsView } from './settings-model.js';

const settingsKey = (workspaceId: string) => ['settings', workspaceId];

export function useSettings() {
  const { workspace } = useSession();
  return useQuery({
    queryKey: settingsKey(workspace.id),
    queryFn: () => api<SettingsView>('GET', workspacePath(workspace.id, '/settings')),
  });
}

/**
 * Saves one section. PUT replaces the whole document, so the change is applied to the document as it
 * is on the server now (not as this page first read it): what others saved meanwhile in other parts
 * stays. Secrets are not in what GET returns, and leaving them out keeps the stored ones.
 */
export function useSaveSettings() {
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const path = workspacePath(workspace.id, '/settings');
  return useMutation({
    mutationFn: async (change: (current: SettingsView) => SettingsView) => {
      const current = await api<SettingsView>('GET', path);
      return api<SettingsView>('PUT', path, change(current));
    },
    onSuccess: async (saved) => {
      queryClient.setQueryData(settingsKey(workspace.id), saved);
      // The scoring screen keeps its own copy of the same document.
      await queryClient.invalidateQueries({ queryKey: ['scoring-settings', workspace.id] });
    },
  });
}
