import { useQuery } from '@tanstack/react-query';
import { api, workspacePath } from './api.js';

/**
 * Lists several screens read, each fetched one way under one cache key: screens share what was
 * fetched, and what one holds in the cache is what the others expect. `T` says which fields a screen
 * reads of the API's item; the cache holds the items as the API sent them.
 */

export function useTemplateList<T extends { id: string; name: string } = { id: string; name: string }>(
  workspaceId: string,
) {
  return useQuery({
    queryKey: ['templates', workspaceId],
    queryFn: async () => (await api<{ items: T[] }>('GET', workspacePath(workspaceId, '/templates'))).items,
  });
}

export function useSegmentList<T extends { id: string; name: string } = { id: string; name: string }>(
  workspaceId: string,
  options: { enabled?: boolean; refetchInterval?: (items: T[] | undefined) => number | false } = {},
) {
  return useQuery({
    queryKey: ['segments', workspaceId],
    queryFn: async () => (await api<{ items: T[] }>('GET', workspacePath(workspaceId, '/segments'))).items,
    enabled: options.enabled ?? true,
    refetchInterval: (query) => options.refetchInterval?.(query.state.data) ?? false,
  });
}

/** What every member may read of the intent settings (`GET …/scoring/definitions`). */
export interface ScoringDefinitions<M = { id: string; name: string }> {
  models: M[];
  stages: string[];
  topics: Array<{ id: string; name: string }>;
  /** Hand-off owners, to show by name (their e-mails are for admins). */
  owners: Array<{ id: string; name: string }>;
}

export function useScoringDefinitions<M extends { id: string; name: string } = { id: string; name: string }>(
  workspaceId: string,
) {
  return useQuery({
    queryKey: ['scoring-definitions', workspaceId],
    queryFn: () => api<ScoringDefinitions<M>>('GET', workspacePath(workspaceId, '/scoring/definitions')),
  });
}

/**
 * Event names to offer where one is typed: the workspace's latest events' (most frequent first), then
 * the events Mops writes or reads by name. Undefined while loading.
 */
export function useEventNames(workspaceId: string): string[] | undefined {
  const names = useQuery({
    queryKey: ['event-names', workspaceId],
    queryFn: () => api<{ items: Array<{ name: string }> }>('GET', workspacePath(workspaceId, '/event-names')),
    staleTime: 60_000,
  });
  return names.data?.items.map((item) => item.name);
}
