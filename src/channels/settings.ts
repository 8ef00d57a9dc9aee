import { AppError } from '../core/errors.js';
import { type SmtpSettings, WorkspaceSettings } from '../core/workspace-settings.js';
import type { Storage } from '../storage/storage.js';
import { SecretBox } from './email/secret-box.js';

/** The settings as the API shows them: the SMTP password is never returned, only whether one is set. */
export type SettingsView = Omit<WorkspaceSettings, 'smtp'> & {
  smtp?: Omit<SmtpSettings, 'password'> & { hasPassword: boolean };
};

export function settingsView(settings: WorkspaceSettings): SettingsView {
  const { smtp, ...rest } = settings;
  if (!smtp) return rest;
  const { password, ...visible } = smtp;
  return { ...rest, smtp: { ...visible, hasPassword: Boolean(password) } };
}

/**
 * Saves a workspace's settings. The SMTP password is sealed with MOPS_SECRET; leaving it out keeps
 * the one already stored.
 */
export async function saveSettings(
  storage: Storage,
  secrets: SecretBox,
  input: { workspaceId: string; settings: unknown; at: number },
): Promise<WorkspaceSettings> {
  const parsed = WorkspaceSettings.safeParse(input.settings);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const field = issue?.path.join('.') || 'settings';
    throw new AppError('invalid_input', `${field}: ${issue?.message ?? 'is invalid'}`, { field });
  }
  const settings = parsed.data;
  if (settings.smtp) {
    const previous = (await storage.settings.get(input.workspaceId)).smtp;
    if (settings.smtp.password) settings.smtp.password = secrets.seal(settings.smtp.password);
    else if (previous?.password) settings.smtp.password = previous.password;
  }
  await storage.settings.put(input.workspaceId, settings, input.at);
  return settings;
}

export { SecretBox };
