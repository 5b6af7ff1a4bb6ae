/**
 * kubernetes-mixin's unit tests read `../prometheus_rules.yaml` and `../prometheus_alerts.yaml`,
 * which the mixin renders with jsonnet. kube-prometheus ships the same mixin rendered as a
 * PrometheusRule manifest (rules-compiler/testdata/kube-prometheus/): split it into the two
 * files, copy the test files beside them, and the tests run unchanged. Used by the unit test
 * and by bench/rules-test.ts.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'

export const MIXIN_TEST_FILES = ['kube_scheduler-test.yaml', 'rules-pod-owner-test.yaml'] as const

const MANIFEST = new URL('../rules-compiler/testdata/kube-prometheus/kubernetesControlPlane-prometheusRule.yaml', import.meta.url).pathname
const TESTS = new URL('./testdata/kubernetes-mixin/', import.meta.url).pathname

interface Manifest {
  spec: { groups: { name: string; rules: { alert?: string; record?: string }[] }[] }
}

/** Writes the rendered rules and the test files under `root`; returns the test files' paths. */
export function renderMixinFixture(root: string): string[] {
  mkdirSync(join(root, 'tests'), { recursive: true })
  const { spec } = parse(readFileSync(MANIFEST, 'utf8')) as Manifest
  const pick = (key: 'alert' | 'record') => ({ groups: spec.groups.map((g) => ({ ...g, rules: g.rules.filter((r) => r[key]) })).filter((g) => g.rules.length > 0) })
  writeFileSync(join(root, 'prometheus_alerts.yaml'), stringify(pick('alert')))
  writeFileSync(join(root, 'prometheus_rules.yaml'), stringify(pick('record')))
  return MIXIN_TEST_FILES.map((name) => {
    const file = join(root, 'tests', name)
    copyFileSync(join(TESTS, name), file)
    return file
  })
}
