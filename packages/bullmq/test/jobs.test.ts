// Unit tests of the job format: no Redis needed.
import { MessageDecodeError } from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { decodeJobData, workerKeepJobs } from '../src/jobs';
import { adoptedJobId } from '../src/names';

describe('job data', () => {
  const message = { id: 'm-1', type: 't', body: 'b', headers: {} };

  test('reads data of version 1, or without a version (written before versions, or by hand)', () => {
    expect(decodeJobData({ ...message, wire: 1 })).toMatchObject(message);
    expect(decodeJobData(message)).toEqual(message);
    expect(decodeJobData(JSON.stringify(message))).toEqual(message);
  });

  test('refuses data of a newer version with a MessageDecodeError naming the version', () => {
    expect(() => decodeJobData({ ...message, wire: 2 })).toThrow(MessageDecodeError);
    expect(() => decodeJobData({ ...message, wire: 2 })).toThrow(/version 2/);
  });
});

describe('what foreign jobs get', () => {
  test("the worker's retention: completed jobs per keepCompleted, failed jobs (dead letters) always kept", () => {
    expect(workerKeepJobs({ age: 60, count: 5 })).toEqual({
      removeOnComplete: { age: 60, count: 5 },
      removeOnFail: { count: -1 },
    });
    expect(workerKeepJobs(true)).toEqual({ removeOnComplete: { count: 0 }, removeOnFail: { count: -1 } });
    expect(workerKeepJobs(10)).toEqual({ removeOnComplete: { count: 10 }, removeOnFail: { count: -1 } });
    expect(workerKeepJobs(false)).toEqual({ removeOnFail: { count: -1 } });
  });

  test('a backlog job with an integer id (BullMQ gave it) keeps a derived id in the group queues', () => {
    expect(adoptedJobId('42')).toBe('bl.42');
    expect(adoptedJobId('01JABC')).toBe('01JABC');
    expect(adoptedJobId('dd.order%3A1')).toBe('dd.order%3A1');
  });
});
