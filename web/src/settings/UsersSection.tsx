import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { Field } from '../components/field.js';
import { Pager, usePage } from '../components/pager.js';
import { EmptyState, ErrorState, errorMessage, Loading } from '../components/states.js';
import { problemText, TextField, useErrorAt } from './form-parts.js';
import {
  type FieldErrors,
  type NewUserForm,
  ROLES,
  type Role,
  serverFieldErrors,
  validateNewUser,
} from './settings-model.js';

interface Member {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  joinedAt: string;
}

const BLANK_USER: NewUserForm = { email: '', name: '', password: '', role: 'member' };

export function UsersSection() {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace, user } = useSession();
  const queryClient = useQueryClient();
  const usersPath = workspacePath(workspace.id, '/users');
  const isOwner = workspace.role === 'owner';
  const [notice, setNotice] = useState<string>();
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [removing, setRemoving] = useState<Member>();
  const users = useQuery({
    queryKey: ['users', workspace.id],
    queryFn: async () => (await api<{ items: Member[] }>('GET', usersPath)).items,
  });
  const page = usePage(users.data ?? []);
  const refresh = async (member: Member) => {
    await queryClient.invalidateQueries({ queryKey: ['users', workspace.id] });
    // One's own role decides what the console offers.
    if (member.id === user.id) await queryClient.invalidateQueries({ queryKey: ['workspaces'] });
  };
  const rowFailed = (member: Member, error: unknown) =>
    setRowErrors({
      [member.id]: problemText(serverFieldErrors(error, ['role'])?.role, t) ?? errorMessage(error, t),
    });

  const changeRole = useMutation({
    mutationFn: (change: { member: Member; role: Role }) =>
      api<Member>('PATCH', `${usersPath}/${encodeURIComponent(change.member.id)}`, { role: change.role }),
    onMutate: () => {
      setNotice(undefined);
      setRowErrors({});
    },
    onSuccess: async (changed, { member }) => {
      setNotice(
        t('settings.users.roleChanged', {
          email: changed.email,
          role: t(`settings.users.roles.${changed.role}`),
        }),
      );
      await refresh(member);
    },
    onError: (error, { member }) => rowFailed(member, error),
  });
  const remove = useMutation({
    mutationFn: (member: Member) => api('DELETE', `${usersPath}/${encodeURIComponent(member.id)}`),
    onMutate: () => {
      setNotice(undefined);
      setRowErrors({});
    },
    onSuccess: async (_, member) => {
      setRemoving(undefined);
      setNotice(t('settings.users.removed', { email: member.email }));
      await refresh(member);
    },
    onError: (error, member) => {
      setRemoving(undefined);
      rowFailed(member, error);
    },
  });

  return (
    <div className="settings-form">
      <h2>{t('settings.tabs.users')}</h2>
      <p className="hint">{t('settings.users.help')}</p>
      <NewUser
        canGrantOwner={isOwner}
        onCreated={async (email) => {
          setNotice(t('settings.users.created', { email }));
          await queryClient.invalidateQueries({ queryKey: ['users', workspace.id] });
        }}
      />
      <p className="notice" aria-live="polite">
        {notice}
      </p>
      {users.isPending && <Loading />}
      {users.error && <ErrorState error={users.error} onRetry={() => void users.refetch()} />}
      {users.data?.length === 0 && <EmptyState>{t('settings.users.empty')}</EmptyState>}
      {page.items.length > 0 && (
        <>
          <table className="table settings-table">
            <thead>
              <tr>
                {/* Name and e-mail share a column: one column less lets the table fit a small laptop. */}
                <th scope="col">{t('settings.users.user')}</th>
                <th scope="col">{t('settings.users.role')}</th>
                <th scope="col">{t('settings.users.joined')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('settings.users.remove')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((member) => {
                // Owners are out of an admin's reach; the server says so too.
                const isLocked = member.role === 'owner' && !isOwner;
                return (
                  <tr key={member.id}>
                    <td className="breaks-anywhere">
                      {member.name && <div>{member.name}</div>}
                      <div>
                        {member.email}{' '}
                        {member.id === user.id && <span className="hint">{t('settings.users.you')}</span>}
                      </div>
                    </td>
                    <td>
                      <Field
                        label={t('settings.users.roleOf', { email: member.email })}
                        error={rowErrors[member.id]}
                      >
                        {(control) => (
                          <select
                            {...control}
                            value={member.role}
                            disabled={isLocked || changeRole.isPending}
                            onChange={(event) =>
                              changeRole.mutate({ member, role: event.target.value as Role })
                            }
                          >
                            {ROLES.map((role) => (
                              <option key={role} value={role} disabled={role === 'owner' && !isOwner}>
                                {t(`settings.users.roles.${role}`)}
                              </option>
                            ))}
                          </select>
                        )}
                      </Field>
                    </td>
                    <td>{format.dateTime(member.joinedAt)}</td>
                    <td>
                      {removing?.id === member.id ? (
                        <fieldset className="settings-confirm">
                          <legend className="visually-hidden">
                            {t('settings.users.removeUser', { email: member.email })}
                          </legend>
                          <span>{t('settings.users.confirmRemove', { email: member.email })}</span>
                          <button
                            type="button"
                            className="danger"
                            disabled={remove.isPending}
                            onClick={() => remove.mutate(member)}
                          >
                            {t('settings.users.confirm')}
                          </button>
                          <button type="button" onClick={() => setRemoving(undefined)}>
                            {t('common.cancel')}
                          </button>
                        </fieldset>
                      ) : (
                        <button
                          type="button"
                          className="danger"
                          disabled={isLocked}
                          aria-label={t('settings.users.removeUser', { email: member.email })}
                          onClick={() => setRemoving(member)}
                        >
                          {t('settings.users.remove')}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager page={page} />
        </>
      )}
    </div>
  );
}

function NewUser(props: { canGrantOwner: boolean; onCreated: (email: string) => Promise<void> }) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const [form, setForm] = useState(BLANK_USER);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<unknown>();
  const errorAt = useErrorAt(errors);
  const set = <K extends keyof NewUserForm>(key: K, value: NewUserForm[K]) =>
    setForm({ ...form, [key]: value });
  const create = useMutation({
    mutationFn: () =>
      api<Member>('POST', workspacePath(workspace.id, '/users'), {
        email: form.email.trim(),
        password: form.password,
        role: form.role,
        ...(form.name.trim() ? { name: form.name.trim() } : {}),
      }),
    onSuccess: async (created) => {
      setForm(BLANK_USER);
      await props.onCreated(created.email);
    },
    onError: (error) => {
      const fieldErrors = serverFieldErrors(error, ['email', 'name', 'password', 'role']);
      if (fieldErrors) setErrors(fieldErrors);
      else setFailure(error);
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const problems = validateNewUser(form);
    setErrors(problems);
    setFailure(undefined);
    if (Object.keys(problems).length === 0) create.mutate();
  }

  return (
    <form className="card settings-new-user" onSubmit={submit} noValidate aria-labelledby="settings-new-user">
      <h3 id="settings-new-user">{t('settings.users.add')}</h3>
      <p className="hint">{t('settings.users.addHelp')}</p>
      <div className="inline-form">
        <TextField
          label={t('settings.users.email')}
          value={form.email}
          onChange={(value) => set('email', value)}
          error={errorAt('email')}
          inputMode="email"
          autoComplete="off"
        />
        <TextField
          label={t('settings.users.name')}
          value={form.name}
          onChange={(value) => set('name', value)}
          error={errorAt('name')}
        />
        <TextField
          label={t('settings.users.password')}
          type="password"
          value={form.password}
          onChange={(value) => set('password', value)}
          error={errorAt('password')}
          hint={t('settings.users.passwordHint')}
          autoComplete="new-password"
        />
        <Field label={t('settings.users.role')} error={errorAt('role')}>
          {(control) => (
            <select
              {...control}
              value={form.role}
              onChange={(event) => set('role', event.target.value as Role)}
            >
              {ROLES.filter((role) => role !== 'owner' || props.canGrantOwner).map((role) => (
                <option key={role} value={role}>
                  {t(`settings.users.roles.${role}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" className="primary" disabled={create.isPending}>
          {t('settings.users.create')}
        </button>
      </div>
      {failure !== undefined && (
        <p className="field-error" role="alert">
          {errorMessage(failure, t)}
        </p>
      )}
    </form>
  );
}
