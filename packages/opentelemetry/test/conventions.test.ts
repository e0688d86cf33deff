import { readFileSync } from 'node:fs';
import { ATTR, METRIC, SEMCONV_VERSION } from '@finaegis/opentelemetry';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
  METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
  METRIC_MESSAGING_PROCESS_DURATION,
} from '@opentelemetry/semantic-conventions/incubating';
import { expect, test } from 'vitest';

test('the messaging names are those of the pinned semantic-conventions version', () => {
  const installed = JSON.parse(
    readFileSync(
      new URL('../node_modules/@opentelemetry/semantic-conventions/package.json', import.meta.url),
      'utf8',
    ),
  ) as { version: string };
  expect(installed.version).toBe(SEMCONV_VERSION);
  expect(ATTR).toMatchObject({
    messagingSystem: ATTR_MESSAGING_SYSTEM,
    operationName: ATTR_MESSAGING_OPERATION_NAME,
    operationType: ATTR_MESSAGING_OPERATION_TYPE,
    destinationName: ATTR_MESSAGING_DESTINATION_NAME,
    consumerGroupName: ATTR_MESSAGING_CONSUMER_GROUP_NAME,
    messageId: ATTR_MESSAGING_MESSAGE_ID,
    conversationId: ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
    partitionId: ATTR_MESSAGING_DESTINATION_PARTITION_ID,
    kafkaMessageKey: ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
    errorType: ATTR_ERROR_TYPE,
  });
  expect(METRIC).toMatchObject({
    processDuration: METRIC_MESSAGING_PROCESS_DURATION,
    clientOperationDuration: METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
    clientSentMessages: METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
  });
  for (const [key, name] of Object.entries(METRIC)) {
    if (!name.startsWith('messaging.')) expect(name, key).toMatch(/^finaegis\./);
  }
});
