/** `metrichouse ruler` refuses to start without what it needs, naming the missing key. */
import { describe, expect, it } from 'vitest'
import { ruler } from '../cli/ruler.js'
import { ConfigError, loadConfig } from '../config/load.js'
import { silentLogger } from '../observability/logger.js'

describe('the ruler role', () => {
  it.each([
    [{}, /clickhouse\.url/],
    [{ 'clickhouse-url': 'http://127.0.0.1:1' }, /kafka\.brokers/],
    [{ 'clickhouse-url': 'http://127.0.0.1:1', 'kafka-brokers': '127.0.0.1:1' }, /ruler\.rule_files/],
  ])('with %j: %s', async (flags, message) => {
    const config = loadConfig({ flags, env: {} })
    await expect(ruler(config, silentLogger)).rejects.toThrow(ConfigError)
    await expect(ruler(config, silentLogger)).rejects.toThrow(message)
  })
})
