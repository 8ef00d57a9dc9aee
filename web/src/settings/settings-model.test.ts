import { describe, expect, it } from 'vitest';
import { ApiError } from '../app/api.js';
import {
  capForm,
  isKnownTimeZone,
  limitsForm,
  limitsSettings,
  type SettingsView,
  serverFieldErrors,
  smsForm,
  smsSettings,
  smtpForm,
  smtpSettings,
  topicIdFromName,
  validateLimits,
  validatePassword,
  validateSms,
  validateSmtp,
  validateTopics,
  validateWebhooks,
  webhooksForm,
  webhooksSettings,
  withPart,
} from './settings-model.js';

const SETTINGS: SettingsView = {
  timezone: 'Europe/Rome',
  smtp: {
    host: 'smtp.example.com',
    port: 587,
    tls: 'starttls',
    verifyCertificate: true,
    user: 'shop',
    from: 'Shop <shop@example.com>',
    pool: 4,
    hasPassword: true,
  },
  frequencyCaps: { email: [{ max: 3, period: '1d' }], sms: [] },
  quietHours: { start: '21:00', end: '08:00' },
  topics: [{ id: 'marketing', name: 'Marketing', defaultSubscribed: true }],
  scoring: { models: [{ id: 'fit' }] },
};

describe('SMTP form', () => {
  it('never carries the stored password, and sends one only when typed', () => {
    const form = smtpForm(SETTINGS.smtp);
    expect(form.password).toBe('');
    expect(smtpSettings(form, SETTINGS.smtp)).toEqual({
      host: 'smtp.example.com',
      port: 587,
      tls: 'starttls',
      verifyCertificate: true,
      user: 'shop',
      password: undefined,
      from: 'Shop <shop@example.com>',
      replyTo: undefined,
      pool: 4,
    });
    expect(smtpSettings({ ...form, password: 's3cret' }, SETTINGS.smtp).password).toBe('s3cret');
  });

  it('names each field that is wrong by the path the server uses', () => {
    expect(validateSmtp(smtpForm(SETTINGS.smtp))).toEqual({});
    expect(validateSmtp({ ...smtpForm(undefined), port: '70000', from: 'shop' })).toEqual({
      'smtp.host': { key: 'required' },
      'smtp.port': { key: 'port' },
      'smtp.from': { key: 'address' },
    });
  });
});

describe('SMS form', () => {
  it('wants an http(s) base URL, an account and an E.164 or messaging-service sender', () => {
    const valid = {
      baseUrl: 'http://127.0.0.1:9',
      accountSid: 'AC1',
      authToken: '',
      from: '+393471234567',
      helpText: '',
      allowPrivateNetworks: false,
      smartEncoding: true,
      providerAnswersKeywords: false,
    };
    expect(validateSms(valid)).toEqual({});
    // As people write numbers: the server keeps it in E.164.
    expect(validateSms({ ...valid, from: '+39 347 (123) 45-67' })).toEqual({});
    expect(validateSms({ ...valid, from: '+39 347 CALL ME' })).toEqual({ 'sms.from': { key: 'phone' } });
    expect(validateSms({ ...valid, baseUrl: 'ftp://x', accountSid: ' ', from: '3471234567' })).toEqual({
      'sms.baseUrl': { key: 'url' },
      'sms.accountSid': { key: 'required' },
      'sms.from': { key: 'phone' },
    });
    expect(validateSms({ ...valid, from: `MG${'a'.repeat(32)}` })).toEqual({});
    // A short code and an alphanumeric sender ID, as Twilio takes them; not too long, nor other signs.
    for (const from of ['12345', 'Negozio', ' Negozio 24 '])
      expect(validateSms({ ...valid, from })).toEqual({});
    for (const from of ['Negozio Milano', 'Shop!'])
      expect(validateSms({ ...valid, from })).toEqual({ 'sms.from': { key: 'phone' } });
  });

  it('keeps the stored token when left blank, and shows and saves the private-network allowance', () => {
    const form = smsForm({
      baseUrl: 'http://10.0.0.5:8080',
      accountSid: 'AC1',
      from: '+393471234567',
      allowPrivateNetworks: true,
      hasAuthToken: true,
    });
    expect(form.allowPrivateNetworks).toBe(true);
    expect(smsSettings(form)).toMatchObject({ authToken: undefined, allowPrivateNetworks: true });
    expect(smsSettings({ ...form, allowPrivateNetworks: false }).allowPrivateNetworks).toBe(false);
  });

  it('shows Smart Encoding on unless it was turned off, and saves the choice', () => {
    const stored = {
      baseUrl: 'https://api.twilio.com',
      accountSid: 'AC1',
      from: '+393471234567',
      hasAuthToken: true,
    };
    expect(smsForm(stored).smartEncoding).toBe(true);
    expect(smsForm(undefined).smartEncoding).toBe(true);
    const off = smsForm({ ...stored, smartEncoding: false });
    expect(off.smartEncoding).toBe(false);
    expect(smsSettings(off).smartEncoding).toBe(false);
  });

  it('shows and saves whether the provider answers keywords itself', () => {
    const stored = {
      baseUrl: 'https://api.twilio.com',
      accountSid: 'AC1',
      from: '+393471234567',
      hasAuthToken: true,
    };
    expect(smsForm(stored).providerAnswersKeywords).toBe(false);
    const form = smsForm({ ...stored, providerAnswersKeywords: true });
    expect(form.providerAnswersKeywords).toBe(true);
    expect(smsSettings({ ...form, providerAnswersKeywords: false })).toMatchObject({
      providerAnswersKeywords: false,
    });
  });
});

describe('webhook destinations', () => {
  const stored = {
    destinations: [
      { id: 'crm', url: 'https://crm.example.com/hooks', hasSecret: true, headerNames: ['X-Api-Key'] },
    ],
    allowPrivateNetworks: false,
    timeoutMs: 10_000,
    maxAttempts: 8,
  };

  it('never carries stored secrets or headers, and sends them only when typed', () => {
    const form = webhooksForm(stored);
    expect(form.destinations[0]).toMatchObject({
      secret: '',
      headers: '',
      hasSecret: true,
      headerNames: ['X-Api-Key'],
    });
    expect(webhooksSettings(form)).toEqual({
      destinations: [{ id: 'crm', url: 'https://crm.example.com/hooks' }],
      allowPrivateNetworks: false,
      timeoutMs: 10_000,
      maxAttempts: 8,
    });
    const typed = {
      ...form,
      destinations: [
        {
          ...form.destinations[0],
          secret: 'whsec-0123456789abcdef',
          headers: 'X-Api-Key: key-2\n\nX-Tenant:  acme ',
        },
      ],
    } as typeof form;
    expect(webhooksSettings(typed).destinations).toEqual([
      {
        id: 'crm',
        url: 'https://crm.example.com/hooks',
        secret: 'whsec-0123456789abcdef',
        headers: { 'X-Api-Key': 'key-2', 'X-Tenant': 'acme' },
      },
    ]);
  });

  it('sends a secret to remove as null, whatever was typed before', () => {
    const form = webhooksForm(stored);
    const removing = {
      ...form,
      destinations: [{ ...form.destinations[0], secret: 'short', removeSecret: true }],
    } as typeof form;
    expect(webhooksSettings(removing).destinations).toEqual([
      { id: 'crm', url: 'https://crm.example.com/hooks', secret: null },
    ]);
    expect(validateWebhooks(removing)).toEqual({});
  });

  it('sends headers to remove as {}, whatever was typed before, so the stored ones are cleared', () => {
    const form = webhooksForm(stored);
    expect(form.destinations[0]?.removeHeaders).toBe(false);
    const removing = {
      ...form,
      destinations: [{ ...form.destinations[0], headers: 'not a header line', removeHeaders: true }],
    } as typeof form;
    expect(webhooksSettings(removing).destinations).toEqual([
      { id: 'crm', url: 'https://crm.example.com/hooks', headers: {} },
    ]);
    expect(validateWebhooks(removing)).toEqual({});
  });

  it('names each field that is wrong by the path the server uses', () => {
    const form = webhooksForm(stored);
    const bad = {
      ...form,
      destinations: [
        { ...form.destinations[0], secret: 'short', headers: 'X-Api-Key key-2' },
        { ...form.destinations[0], url: 'ftp://crm.example.com' },
      ],
      timeoutMs: '50',
      maxAttempts: '0',
    } as typeof form;
    expect(Object.keys(validateWebhooks(bad)).sort()).toEqual([
      'webhooks.destinations.0.headers',
      'webhooks.destinations.0.secret',
      'webhooks.destinations.1.id',
      'webhooks.destinations.1.url',
      'webhooks.maxAttempts',
      'webhooks.timeoutMs',
    ]);
    expect(validateWebhooks(form)).toEqual({});
  });
});

describe('topics', () => {
  it('refuses bad and repeated ids, blank names and an empty list', () => {
    expect(validateTopics([])).toEqual({ topics: { key: 'atLeastOneTopic' } });
    expect(
      validateTopics([
        { id: 'news', name: 'News', defaultSubscribed: true },
        { id: 'news', name: ' ', defaultSubscribed: false },
        { id: 'Bad Id', name: 'X', defaultSubscribed: true },
      ]),
    ).toEqual({
      'topics.1.id': { key: 'duplicate' },
      'topics.1.name': { key: 'required' },
      'topics.2.id': { key: 'topicId' },
    });
  });

  it('makes an id from a name', () => {
    expect(topicIdFromName('Novità prodotto!')).toBe('novita-prodotto');
  });
});

describe('caps, quiet hours and time zone', () => {
  it('splits a period into amount and unit and joins it back', () => {
    expect(capForm({ max: 2, period: '1.5h' })).toEqual({ max: '2', amount: '1.5', unit: 'h' });
    const form = limitsForm(SETTINGS);
    expect(limitsSettings(form)).toEqual({
      timezone: 'Europe/Rome',
      quietHours: { start: '21:00', end: '08:00' },
      frequencyCaps: { email: [{ max: 3, period: '1d' }], sms: [] },
    });
    expect(limitsSettings({ ...form, hasQuietHours: false }).quietHours).toBeNull();
  });

  it('checks the zone, the times and every cap', () => {
    const form = limitsForm(SETTINGS);
    expect(validateLimits(form, isKnownTimeZone)).toEqual({});
    expect(
      validateLimits(
        {
          ...form,
          timezone: 'Mars/Olympus',
          quietStart: '08:00',
          quietEnd: '08:00',
          caps: { email: [{ max: '0', amount: 'x', unit: 'd' }], sms: [] },
        },
        isKnownTimeZone,
      ),
    ).toEqual({
      timezone: { key: 'timezone' },
      'quietHours.end': { key: 'sameTimes' },
      'frequencyCaps.email.0.max': { key: 'capMax' },
      'frequencyCaps.email.0.period': { key: 'amount' },
    });
  });
});

describe('saving one section', () => {
  it('keeps the other parts of the document', () => {
    const saved = withPart(SETTINGS, 'topics', [{ id: 'news', name: 'News', defaultSubscribed: false }]);
    expect(saved.scoring).toEqual(SETTINGS.scoring);
    expect(saved.smtp).toEqual(SETTINGS.smtp);
    expect(saved.topics).toEqual([{ id: 'news', name: 'News', defaultSubscribed: false }]);
    expect('sms' in withPart(SETTINGS, 'sms', undefined)).toBe(false);
  });

  it("puts the server's complaint on the field it names, without the path in front", () => {
    const error = new ApiError(
      400,
      'invalid_input',
      'smtp.host: Too big: expected string to have <=255 characters',
      'smtp.host',
    );
    expect(serverFieldErrors(error, ['smtp'])).toEqual({
      'smtp.host': { message: 'Too big: expected string to have <=255 characters' },
    });
    expect(serverFieldErrors(error, ['sms'])).toBeUndefined();
    expect(serverFieldErrors(new ApiError(403, 'forbidden', 'no', 'role'), ['role'])).toBeUndefined();
  });
});

describe('password form', () => {
  it('wants the current password, a long enough new one typed twice, and a change', () => {
    expect(validatePassword({ currentPassword: '', newPassword: 'short', repeatPassword: 'other' })).toEqual({
      currentPassword: { key: 'required' },
      newPassword: { key: 'tooShort' },
      repeatPassword: { key: 'mismatch' },
    });
    const same = 'the same passphrase';
    expect(validatePassword({ currentPassword: same, newPassword: same, repeatPassword: same })).toEqual({
      newPassword: { key: 'unchanged' },
    });
  });
});
