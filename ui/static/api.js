// The endpoints the pages read. Each answer is { ok, status, data, error } so that a page can
// show "not served by this role" (404) apart from an error of the API.
export async function getJson(path, params) {
  const url = params ? `${path}?${new URLSearchParams(params)}` : path
  let res
  try {
    res = await fetch(url, { headers: { Accept: 'application/json' } })
  } catch (err) {
    return { ok: false, status: 0, error: `request failed: ${err.message}` }
  }
  const text = await res.text()
  let body
  try {
    body = JSON.parse(text)
  } catch {
    return { ok: res.ok, status: res.status, error: res.ok ? 'not JSON' : text.trim().slice(0, 500) }
  }
  if (!res.ok || body.status === 'error') return { ok: false, status: res.status, error: body.error ? `${body.errorType ?? 'error'}: ${body.error}` : text.slice(0, 500) }
  return { ok: true, status: res.status, data: body.data ?? body }
}

export async function getText(path) {
  try {
    const res = await fetch(path)
    return { ok: res.ok, status: res.status, text: await res.text() }
  } catch (err) {
    return { ok: false, status: 0, text: '', error: err.message }
  }
}
