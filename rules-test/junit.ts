/** JUnit XML for `rules test --junit FILE`: one testsuite per test file, one testcase per test. */
import type { TestFileResult } from './unit-tests.js'

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

export function junitReport(results: readonly (TestFileResult & { seconds: number })[]): string {
  const suites = results.map((r) => {
    const cases = r.error ? [{ name: 'load', failures: [r.error] }] : r.cases
    const failures = cases.filter((c) => c.failures.length > 0).length
    const body = cases
      .map((c) =>
        c.failures.length === 0
          ? `    <testcase name="${esc(c.name)}" classname="${esc(r.file)}"></testcase>`
          : `    <testcase name="${esc(c.name)}" classname="${esc(r.file)}">\n      <failure message="${esc(c.failures[0]!.trim().split('\n')[0]!)}">${esc(c.failures.join('\n'))}</failure>\n    </testcase>`,
      )
      .join('\n')
    return `  <testsuite name="${esc(r.file)}" tests="${cases.length}" failures="${failures}" errors="0" time="${r.seconds.toFixed(3)}">\n${body}\n  </testsuite>`
  })
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${suites.join('\n')}\n</testsuites>\n`
}
