import { Navigate, Route, Routes } from 'react-router-dom';
import { ErrorState, Loading } from '../components/states.js';
import { ContactPage } from '../contacts/ContactPage.js';
import { ContactsPage } from '../contacts/ContactsPage.js';
import { ImportContactsPage } from '../contacts/ImportContactsPage.js';
import { DashboardPage } from '../dashboard/DashboardPage.js';
import { JourneyBuilderPage } from '../journeys/JourneyBuilderPage.js';
import { JourneysPage } from '../journeys/JourneysPage.js';
import { ScoringPage } from '../scoring/ScoringPage.js';
import { SegmentPage } from '../segments/SegmentPage.js';
import { SegmentsPage } from '../segments/SegmentsPage.js';
import { KeysPage } from '../settings/KeysPage.js';
import { SettingsPage } from '../settings/SettingsPage.js';
import { TemplateEditorPage } from '../templates/TemplateEditorPage.js';
import { TemplatesPage } from '../templates/TemplatesPage.js';
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
          <Route index element={<Navigate to="/dashboard" replace />} />
          <Route path="dashboard" element={<DashboardPage />} />
          <Route path="journeys" element={<JourneysPage />} />
          <Route path="journeys/:journeyId" element={<JourneyBuilderPage />} />
          <Route path="templates" element={<TemplatesPage />} />
          <Route path="templates/:templateId" element={<TemplateEditorPage />} />
          <Route path="contacts" element={<ContactsPage />} />
          <Route path="contacts/import" element={<ImportContactsPage />} />
          <Route path="contacts/:profileId" element={<ContactPage />} />
          <Route path="segments" element={<SegmentsPage />} />
          <Route path="segments/:segmentId" element={<SegmentPage />} />
          <Route path="scoring" element={<ScoringPage />} />
          <Route path="settings" element={<SettingsPage />} />
          <Route path="settings/keys" element={<KeysPage />} />
          <Route path="*" element={<Navigate to="/dashboard" replace />} />
        </Route>
      </Routes>
    </SessionProvider>
  );
}
