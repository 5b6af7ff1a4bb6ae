import { createRequire } from 'node:module'
import { KafkaJSAggregateError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../observability/logger.js'
import { isTopicSettlingError, retryWhileTopicSettles } from './topic.js'

// The protocol errors exactly as kafkajs builds them from a broker's error code.
const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error') as { createErrorFromCode(code: number): KafkaJSProtocolError }
const UNKNOWN_TOPIC_OR_PARTITION = 3
const LEADER_NOT_AVAILABLE = 5
const TOPIC_AUTHORIZATION_FAILED = 29

describe('isTopicSettlingError', () => {
  const cases = [
    { name: '"This server does not host this topic-partition"', err: createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION), settling: true },
    { name: 'a leader not available yet', err: createErrorFromCode(LEADER_NOT_AVAILABLE), settling: true },
    { name: 'one wrapped by kafkajs after its own retries', err: new KafkaJSNumberOfRetriesExceeded(createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION), { retryCount: 5, retryTime: 2000 }), settling: true },
    { name: 'one among the errors of createTopics', err: new KafkaJSAggregateError('failed', [createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION)]), settling: true },
    { name: 'not an authorization failure', err: createErrorFromCode(TOPIC_AUTHORIZATION_FAILED), settling: false },
    { name: 'not a plain error', err: new Error('boom'), settling: false },
    { name: 'not a non-error', err: 'UNKNOWN_TOPIC_OR_PARTITION', settling: false },
  ]
  for (const c of cases) it(`${c.settling ? 'is' : 'is not'} settling: ${c.name}`, () => expect(isTopicSettlingError(c.err)).toBe(c.settling))
})

describe('retryWhileTopicSettles', () => {
  const noSleep = async (): Promise<void> => {}

  it('retries while the broker does not host the partition yet, then returns the answer', async () => {
    let calls = 0
    const result = await retryWhileTopicSettles(
      'test',
      async () => {
        if (++calls < 4) throw createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION)
        return 6
      },
      silentLogger,
      { sleep: noSleep },
    )
    expect(result).toBe(6)
    expect(calls).toBe(4)
  })

  it('throws any other error at once', async () => {
    let calls = 0
    const attempt = async (): Promise<number> => {
      calls++
      throw createErrorFromCode(TOPIC_AUTHORIZATION_FAILED)
    }
    await expect(retryWhileTopicSettles('test', attempt, silentLogger, { sleep: noSleep })).rejects.toThrow(/Not authorized/)
    expect(calls).toBe(1)
  })

  it('gives up with the last error once the deadline has passed', async () => {
    const attempt = async (): Promise<number> => {
      throw createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION)
    }
    await expect(retryWhileTopicSettles('test', attempt, silentLogger, { timeoutMs: 0, sleep: noSleep })).rejects.toThrow(/does not host/)
  })
})
