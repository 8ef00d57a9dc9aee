import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmtpSettings } from '../../core/workspace-settings.js';
import { SmtpSink } from '../../test-support/smtp-sink.js';
import { SmtpTransports } from './smtp-transports.js';

/** An SMTP host is a place Mops connects to for a workspace: private addresses only where the operator allows. */
describe('SMTP transports', () => {
  let sink: SmtpSink;
  const opened: SmtpTransports[] = [];

  beforeEach(async () => {
    sink = await new SmtpSink().start();
  });
  afterEach(async () => {
    for (const transports of opened.splice(0)) transports.closeAll();
    await sink.stop();
  });

  const send = (allowPrivateNetworks: boolean, host: string) => {
    const transports = new SmtpTransports({ allowPrivateNetworks });
    opened.push(transports);
    const smtp = SmtpSettings.parse({
      host,
      port: sink.port,
      tls: 'none',
      from: 'shop@example.com',
      pool: 1,
    });
    return transports.get('ws', smtp, undefined).sendMail({
      from: 'shop@example.com',
      to: 'ada@example.com',
      subject: 'Hello',
      text: 'Hi',
    });
  };

  it('refuses a loopback or private SMTP host, by address or by name, unless the operator allows it', async () => {
    await expect(send(false, '127.0.0.1')).rejects.toThrow(/127\.0\.0\.1 .*private or reserved address/);
    await expect(send(false, 'localhost')).rejects.toThrow(/private or reserved address/);
    await expect(send(false, '10.1.2.3')).rejects.toThrow(/private or reserved address/);
    expect(sink.received).toHaveLength(0);

    await send(true, '127.0.0.1');
    expect(sink.received).toHaveLength(1);
  });
});
