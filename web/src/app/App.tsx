import { Navigate, Route, Routes } from 'react-router-dom';
import { ErrorState, Loading } from '../components/states.js';
import { JourneyBuilderPage } from '../journeys/JourneyBuilderPage.js';
import { JourneysPage } from '../journeys/JourneysPage.js';
import { KeysPage } from '../settings/KeysPage.js';
import { Layout } from './Layout.js';
import { LoginPage } from './LoginPage.js';
import { SessionProvider, useCurrentUser } from './session.js';

export function App() {
  const me = useCurrentUser();
  if (me.isPending) return <Loading />;
  if (me.error) return <ErrorState error={me.error} onRetry={() => void me.refetch()} />;
  if (!me.data) return <LoginPage />;
  return (
    <SessionProvider user={me.data}>
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<Navigate to="/journeys" replace />} />
          <Route path="journeys" element={<JourneysPage />} />
          <Route path="journeys/:journeyId" element={<JourneyBuilderPage />} />
          <Route path="settings/keys" element={<KeysPage />} />
          <Route path="*" element={<Navigate to="/journeys" replace />} />
        </Route>
      </Routes>
    </SessionProvider>
  );
}
