import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inboundKeyword, isTwilioSignatureValid, twilioSignature } from './inbound-sms.js';

describe('inbound keywords', () => {
  it.each([
    ['STOP', 'opt-out'],
    ['  stop ', 'opt-out'],
    ['Stop.', 'opt-out'],
    ['STOP!!! 🛑', 'opt-out'],
    ['stop all', 'opt-out'],
    ['Opt-out', 'opt-out'],
    ['Stop please', 'opt-out'],
    ['please unsubscribe me', 'opt-out'],
    ['End', 'opt-out'],
    ['cancel.', 'opt-out'],
    ['Start', 'opt-in'],
    ['yes!', 'opt-in'],
    ['Help?', 'help'],
    ['info', 'help'],
    ['End of the day works for me', 'other'],
    ['Can I cancel my order', 'other'],
    ['Yes, the blue one please', 'other'],
    ['Please do not stop sending me the weekly deals, I love them', 'other'],
    ["Please don't stop", 'other'],
    ['No. Stop.', 'opt-out'],
    ['No, stop', 'opt-out'],
    ['NO STOP', 'opt-out'],
    ['No stop texting me', 'opt-out'],
    ['Never stop!', 'other'],
    ['STOP STOP STOP STOP STOP', 'opt-out'],
    ['STOP\n\nSent from my iPhone', 'opt-out'],
    ['ＳＴＯＰ', 'opt-out'],
    ['Start\n\nSent from my phone', 'opt-in'],
    ['Yes\nstop', 'opt-out'],
    ['Wrong number, who is this?\nSTOP', 'opt-out'],
    ['Please remove me from this list\nSTOP', 'opt-out'],
    ['Hi there, I think you have the wrong number\n\nSTOP\n\nSent from my iPhone', 'opt-out'],
    ['Who is this?\nEnd', 'opt-out'],
    ['See you at 5\nStop by the shop first if you can', 'other'],
    ["Can't stop laughing", 'other'],
    ["I can't stop", 'other'],
    ["Won't stop by today", 'other'],
    ['I cannot stop', 'other'],
    ['', 'other'],
  ])('reads %j as %s', (body, keyword) => {
    expect(inboundKeyword(body)).toBe(keyword);
  });

  it("takes the provider's reading over the words", () => {
    expect(inboundKeyword('ARRET', 'STOP')).toBe('opt-out');
    expect(inboundKeyword('stop', 'START')).toBe('opt-in');
    expect(inboundKeyword('stop', 'unknown')).toBe('opt-out');
  });
});

describe('Twilio request signatures', () => {
  const authToken = 'twilio-auth-token';
  const params = new URLSearchParams({ MessageSid: `SM${'0'.repeat(32)}`, Body: 'STOP' });
  const isValid = (url: string, signedUrl: string, token = authToken) =>
    isTwilioSignatureValid({ authToken, url, params, signature: twilioSignature(token, signedUrl, params) });

  it('takes a signature over the URL with the default port written out or left off, either way round', () => {
    const path = '/v1/sms/inbound/ws_1?x=1';
    expect(isValid(`https://mops.example.com${path}`, `https://mops.example.com:443${path}`)).toBe(true);
    expect(isValid(`https://mops.example.com:443${path}`, `https://mops.example.com${path}`)).toBe(true);
    expect(isValid(`http://mops.example.com${path}`, `http://mops.example.com:80${path}`)).toBe(true);
    expect(isValid('https://[2001:db8::1]/v1/sms', 'https://[2001:db8::1]:443/v1/sms')).toBe(true);
    expect(isValid(`https://mops.example.com${path}`, `https://mops.example.com${path}`)).toBe(true);
  });

  it("takes a form repeating a field, its values signed sorted and each once, as Twilio's helper libraries sign it", () => {
    const url = 'https://mops.example.com/v1/sms/inbound/ws_1';
    // As a form lists them: Body between the two MediaUrl, these out of order, one of them twice.
    const form = new URLSearchParams(
      `MessageSid=SM${'0'.repeat(32)}&MediaUrl=https%3A%2F%2Fm.example%2Fb&Body=Hi&MediaUrl=https%3A%2F%2Fm.example%2Fa&MediaUrl=https%3A%2F%2Fm.example%2Fb`,
    );
    // Written out: names sorted; MediaUrl's values sorted, each once.
    const signed = `${url}BodyHiMediaUrlhttps://m.example/aMediaUrlhttps://m.example/bMessageSidSM${'0'.repeat(32)}`;
    const signature = createHmac('sha1', authToken).update(signed, 'utf8').digest('base64');
    expect(twilioSignature(authToken, url, form)).toBe(signature);
    expect(isTwilioSignatureValid({ authToken, url, params: form, signature })).toBe(true);
    // Another value is another request.
    form.append('MediaUrl', 'https://m.example/c');
    expect(isTwilioSignatureValid({ authToken, url, params: form, signature })).toBe(false);
  });

  it('refuses a signature over another port, another URL or with another token', () => {
    const path = '/v1/sms/inbound/ws_1';
    expect(isValid(`https://mops.example.com${path}`, `https://mops.example.com:8443${path}`)).toBe(false);
    expect(isValid(`https://mops.example.com:8443${path}`, `https://mops.example.com${path}`)).toBe(false);
    expect(isValid(`https://mops.example.com${path}`, `https://mops.example.com:80${path}`)).toBe(false);
    expect(isValid(`https://mops.example.com${path}`, `https://mops.example.com${path}/x`)).toBe(false);
    expect(isValid(`https://mops.example.com${path}`, `https://mops.example.com:443${path}`, 'other')).toBe(
      false,
    );
    expect(
      isTwilioSignatureValid({
        authToken,
        url: `https://mops.example.com${path}`,
        params,
        signature: undefined,
      }),
    ).toBe(false);
  });
});
