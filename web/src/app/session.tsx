import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { ApiError, api } from './api.js';

export interface User {
  id: string;
  email: string;
  name: string | null;
}

export interface Workspace {
  id: string;
  name: string;
  role?: string;
}

interface Session {
  user: User;
  workspaces: Workspace[];
  workspace: Workspace;
  chooseWorkspace(id: string): void;
  logOut(): Promise<void>;
}

/** Whether one's role here is admin or owner: what needs it (the settings, recycling a lead) is for them. */
export const isAdminOf = (workspace: Workspace) => workspace.role !== 'member';

const SessionContext = createContext<Session | undefined>(undefined);
const WORKSPACE_KEY = 'mops.workspace';

/** The logged-in user and the workspace being worked on; undefined while nobody is logged in. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a logged-in page');
  return session;
}

/** Who is logged in, asked once per load; `null` when nobody is. */
export function useCurrentUser() {
  return useQuery({
    queryKey: ['me'],
    queryFn: async () => {
      try {
        return (await api<{ user: User }>('GET', '/api/auth/me')).user;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: Number.POSITIVE_INFINITY,
  });
}

export function SessionProvider(props: { user: User; children: ReactNode }) {
  const queryClient = useQueryClient();
  const workspaces = useQuery({
    queryKey: ['workspaces'],
    queryFn: async () => (await api<{ items: Workspace[] }>('GET', '/api/workspaces')).items,
  });
  const [chosen, setChosen] = useState(() => localStorage.getItem(WORKSPACE_KEY));
  const chooseWorkspace = useCallback((id: string) => {
    localStorage.setItem(WORKSPACE_KEY, id);
    setChosen(id);
  }, []);
  const logOut = useCallback(async () => {
    await api('POST', '/api/auth/logout');
    // Nobody first (the log-in page replaces every screen), then forget what they could see. Clearing
    // the whole cache instead would drop the query the app watches, and it would never see the change.
    queryClient.setQueryData(['me'], null);
    queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== 'me' });
  }, [queryClient]);
  const items = workspaces.data ?? [];
  const workspace = items.find((item) => item.id === chosen) ?? items[0];
  const session = useMemo(
    () =>
      workspace ? { user: props.user, workspaces: items, workspace, chooseWorkspace, logOut } : undefined,
    [props.user, items, workspace, chooseWorkspace, logOut],
  );
  if (workspaces.error) throw workspaces.error;
  if (!session) return null;
  return <SessionContext.Provider value={session}>{props.children}</SessionContext.Provider>;
}
