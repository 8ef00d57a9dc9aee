import type { IssueDetail } from '../../../src/core/input-issues.js';

export type { IssueDetail };

type Translate = (key: string, options?: Record<string, unknown>) => string;

const TYPES: Record<string, string> = {
  number: 'number',
  int: 'number',
  string: 'text',
  boolean: 'boolean',
  array: 'list',
};
const FORMATS: Record<string, string> = { email: 'email', url: 'url', datetime: 'dateTime' };

/**
 * A refusal's issue in the console's language ("Al massimo 1.000.000"), or undefined when it is one
 * the console has no words for (a pattern of the server's own, a custom check): then the server's
 * English message is shown as it is.
 */
export function wordIssue(issue: IssueDetail, t: Translate, language: string): string | undefined {
  const number = (value: number) => new Intl.NumberFormat(language).format(value);
  switch (issue.code) {
    case 'required':
      return t('issues.required');
    case 'unknown_field':
      return t('issues.unknownField');
    case 'too_big':
    case 'too_small': {
      const limit = number(issue.limit);
      const isBig = issue.code === 'too_big';
      if (issue.origin === 'number') {
        const key = isBig
          ? issue.inclusive
            ? 'atMost'
            : 'lessThan'
          : issue.inclusive
            ? 'atLeast'
            : 'moreThan';
        return t(`issues.${key}`, { limit });
      }
      // An empty text refused for being too short is one left out.
      if (!isBig && issue.origin === 'string' && issue.limit === 1) return t('issues.required');
      const unit = issue.origin === 'string' ? 'Characters' : 'Items';
      return t(`issues.${isBig ? 'atMost' : 'atLeast'}${unit}`, { limit });
    }
    case 'invalid_type': {
      const type = TYPES[issue.expected];
      return type ? t(`issues.${type}`) : undefined;
    }
    case 'invalid_format': {
      const format = FORMATS[issue.format];
      return format ? t(`issues.${format}`) : undefined;
    }
    case 'invalid_value':
      return t('issues.oneOf', { values: issue.values.map((value) => String(value)).join(', ') });
    case 'refused':
      return t(`issues.refused.${issue.reason}`, issue.params ?? {});
    default:
      return undefined;
  }
}
