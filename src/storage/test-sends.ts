import type { ExpressionBuilder } from 'kysely';
import { TEST_TOPIC } from '../core/workspace-settings.js';
import type { Database } from './schema.js';

/**
 * Messages other than test sends (the `test` topic): those went to a tester, not to the contact they
 * were personalised for, and are neither re-driven, nor counted as the workspace's messaging.
 */
export function notATestSend(eb: ExpressionBuilder<Database, 'messages'>) {
  return eb.or([eb('topic', 'is', null), eb('topic', '<>', TEST_TOPIC)]);
}
