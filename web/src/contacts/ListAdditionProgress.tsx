import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import type { ListAdditionJson } from './contact-import.js';

/** How often a waiting addition is read again: the pipeline makes contacts profiles within seconds. */
const REFRESH_MS = 1000;

/** Imported contacts joining the list their import named: waiting for the pipeline, then how many joined. */
export function ListAdditionProgress(props: { addition: ListAdditionJson; listName: string | undefined }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const current = useQuery({
    queryKey: ['list-addition', workspace.id, props.addition.id],
    queryFn: () =>
      api<ListAdditionJson>('GET', workspacePath(workspace.id, `/list-additions/${props.addition.id}`)),
    initialData: props.addition,
    refetchInterval: (query) => (query.state.data?.status === 'waiting' ? REFRESH_MS : false),
  });
  const addition = current.data;
  const values = {
    list: props.listName ?? addition.segmentId,
    contacts: format.number(addition.contacts),
    added: format.number(addition.added),
    already: format.number(addition.matched - addition.added),
    unmatched: format.number(addition.unmatched),
  };
  return (
    <p className={addition.status === 'failed' ? 'field-error' : 'notice'} data-testid="list-addition">
      {t(`contacts.import.listAddition.${addition.status}`, values)}
      {addition.reason && ` — ${addition.reason}`}
    </p>
  );
}
