import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkLiquid, notJsonTemplate, renderHtml, renderJson, renderPlain } from './liquid.js';

describe('Liquid templates', () => {
  let workingDirectory: string;
  let previousDirectory: string;

  // A secret beside the server, where liquidjs would look for partials by default.
  beforeEach(() => {
    previousDirectory = process.cwd();
    workingDirectory = mkdtempSync(path.join(tmpdir(), 'mops-liquid-'));
    writeFileSync(path.join(workingDirectory, 'secret'), 'the signing secret');
    writeFileSync(path.join(workingDirectory, 'secret.liquid'), 'the signing secret');
    process.chdir(workingDirectory);
  });
  afterEach(() => {
    process.chdir(previousDirectory);
    rmSync(workingDirectory, { recursive: true, force: true });
  });

  it.each([
    "{% include 'secret' %}",
    "{% render 'secret' %}",
    "{% layout 'secret' %}body",
    '{% include secret %}',
  ])('refuses %s when checked, and never prints a file', (source) => {
    expect(checkLiquid(source)).toMatch(/cannot read files/);
    expect(() => renderPlain(source, {})).toThrow(/cannot read files/);
    expect(() => renderHtml(source, {})).toThrow(/cannot read files/);
  });

  it('keeps an output in a JSON body inside the string it stands in', () => {
    const body = '{"role": "viewer", "name": "{{ name }}", "tags": {{ tags | json }}, "n": {{ n }}}';
    const rendered = renderJson(body, { name: 'x", "role": "admin\n', tags: ['a"b'], n: 3 });
    expect(JSON.parse(rendered)).toEqual({
      role: 'viewer',
      name: 'x", "role": "admin\n',
      tags: ['a"b'],
      n: 3,
    });
    // `raw` escapes as any output does, in a body as in mail.
    const raw = renderJson('{"role": "viewer", "name": "{{ name | raw }}"}', { name: 'x", "role": "admin' });
    expect(JSON.parse(raw)).toEqual({ role: 'viewer', name: 'x", "role": "admin' });
    expect(renderHtml('<p>{{ bio | raw }}</p>', { bio: '<a href="https://evil.test">win</a>' })).toBe(
      '<p>&lt;a href=&#34;https://evil.test&#34;&gt;win&lt;/a&gt;</p>',
    );
  });

  it('writes in a JSON body what plain text would for missing values and lists', () => {
    const body = '{"company": "{{ missing }}", "none": "{{ nothing }}", "tags": "{{ tags }}"}';
    const data = { nothing: null, tags: ['a', 'b'] };
    expect(JSON.parse(renderJson(body, data))).toEqual({ company: '', none: '', tags: 'ab' });
    expect(renderPlain('{{ missing }}|{{ nothing }}|{{ tags }}', data)).toBe('||ab');
  });

  it('writes an object, or a list holding one, as its JSON in text, HTML and JSON bodies alike', () => {
    const data = { address: { city: 'Roma', note: '<b>"x"</b>' }, orders: [{ sku: 'a' }], tags: ['a', 'b'] };
    expect(renderPlain('{{ address }} {{ orders }} {{ tags }}', data)).toBe(
      '{"city":"Roma","note":"<b>\\"x\\"</b>"} [{"sku":"a"}] ab',
    );
    expect(renderHtml('<p>{{ address }}</p>', data)).toBe(
      '<p>{&#34;city&#34;:&#34;Roma&#34;,&#34;note&#34;:&#34;&lt;b&gt;\\&#34;x\\&#34;&lt;/b&gt;&#34;}</p>',
    );
    const body = JSON.parse(renderJson('{"address": "{{ address }}", "orders": {{ orders | json }}}', data));
    expect(body).toEqual({ address: JSON.stringify(data.address), orders: data.orders });
  });

  it('stops a template that would loop for minutes or build a huge list, quickly', () => {
    expect(() =>
      renderPlain('{% for a in (1..100000) %}{% for b in (1..100000) %}x{% endfor %}{% endfor %}', {}),
    ).toThrow(/limit exceeded/);
    expect(() => renderHtml('{% for i in (1..50000000) %}{% endfor %}', {})).toThrow(/limit exceeded/);
    expect(() =>
      renderJson(`{"a": "{{ '${'x'.repeat(1000)}' | append: '${'y'.repeat(1000)}' }}"}`, {}),
    ).not.toThrow();
  });

  it('still renders what templates are for', () => {
    expect(checkLiquid('Hi {{ profile.traits.name | default: "there" }}')).toBeUndefined();
    expect(renderPlain('{{ a | json }} {% if b %}yes{% endif %}', { a: 'x"y', b: true })).toBe('"x\\"y" yes');
    expect(renderHtml('<p>{{ a }}</p>', { a: '<script>' })).toBe('<p>&lt;script&gt;</p>');
  });
});

describe('notJsonTemplate', () => {
  it('passes bodies that may render as JSON, outputs writing whatever they write', () => {
    for (const body of [
      '{{ event.properties | json }}',
      '{"total": {{ event.properties.total }}, "name": "{{ profile.traits.name }}"}',
      '[{{ profile.traits | json }}]',
      '"{{ profile.id }}"',
      '{% if event.properties.big %}{"big": true}{% else %}{"big": false}{% endif %}',
      '  \n{"a": 1}\n',
      '{{ n }}',
    ])
      expect(notJsonTemplate(body)).toBeUndefined();
  });

  it('names what can never be JSON: a form, prose, text after the value', () => {
    expect(notJsonTemplate('name={{ profile.traits.name }}&plan=pro')).toBe(
      'a JSON body cannot start with "name=&plan"',
    );
    expect(notJsonTemplate('Hello {{ name }}')).toBe('a JSON body cannot start with "Hello"');
    expect(notJsonTemplate('{"a": 1} thanks')).toBe('a JSON body cannot end with " 1} thanks"');
    expect(notJsonTemplate('true')).toBeUndefined();
  });

  it('names a body that can only render to nothing', () => {
    for (const body of ['', '  \n', '{% if event.properties.big %}{% endif %}'])
      expect(notJsonTemplate(body)).toBe('a JSON body cannot be empty (leave body out for the default one)');
  });
});
