import nodemailer, { type Transporter } from 'nodemailer';
import type { SmtpSettings } from '../../core/workspace-settings.js';

/** One pooled SMTP transport per workspace, rebuilt when its settings change. */
export class SmtpTransports {
  readonly #transports = new Map<string, { key: string; transport: Transporter }>();

  get(workspaceId: string, smtp: SmtpSettings, password: string | undefined): Transporter {
    const key = JSON.stringify([
      smtp.host,
      smtp.port,
      smtp.tls,
      smtp.verifyCertificate,
      smtp.user,
      password,
      smtp.pool,
    ]);
    const cached = this.#transports.get(workspaceId);
    if (cached?.key === key) return cached.transport;
    cached?.transport.close();
    const transport = nodemailer.createTransport({
      pool: true,
      maxConnections: smtp.pool,
      maxMessages: Number.POSITIVE_INFINITY,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.tls === 'implicit',
      requireTLS: smtp.tls === 'starttls',
      ignoreTLS: smtp.tls === 'none',
      tls: { rejectUnauthorized: smtp.verifyCertificate },
      ...(smtp.user ? { auth: { user: smtp.user, pass: password ?? '' } } : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
    this.#transports.set(workspaceId, { key, transport });
    return transport;
  }

  closeAll(): void {
    for (const { transport } of this.#transports.values()) transport.close();
    this.#transports.clear();
  }
}
