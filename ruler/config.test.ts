import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../config/load.js'

describe('ruler configuration', () => {
  it('reads lists, external labels and the shard from flags', () => {
    const c = loadConfig({
      flags: {
        'ruler-rule-files': 'a.yml, rules/',
        'ruler-alertmanager-urls': 'http://am1:9093,http://am2:9093',
        'ruler-external-labels': 'cluster=eu-1,replica=a=b',
        'ruler-shard': '1/3',
        'ruler-resend-delay': '2m',
      },
      env: {},
    }).ruler
    expect(c).toMatchObject({
      ruleFiles: ['a.yml', 'rules/'],
      alertmanagerUrls: ['http://am1:9093', 'http://am2:9093'],
      externalLabels: { cluster: 'eu-1', replica: 'a=b' },
      shard: { index: 1, count: 3 },
      resendDelayMs: 120_000,
      evaluationIntervalMs: 60_000,
    })
  })

  it('defaults to no ruler', () => {
    expect(loadConfig({ env: {} }).ruler).toMatchObject({ ruleFiles: [], alertmanagerUrls: [], externalLabels: {} })
  })

  it.each([
    [{ 'ruler-shard': '3/3' }, /needs i < n/],
    [{ 'ruler-shard': 'x' }, /shard/],
    [{ 'ruler-external-labels': 'not a label' }, /expected name=value/],
  ])('refuses %j', (flags, message) => {
    expect(() => loadConfig({ flags, env: {} })).toThrow(ConfigError)
    expect(() => loadConfig({ flags, env: {} })).toThrow(message)
  })
})
