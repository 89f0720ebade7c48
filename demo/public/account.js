// The register / log-in form: posts JSON to /register or /login (the button pressed says which)
// and shows the answer, errors included, in a live region.

export function account(form, result) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const route = event.submitter?.value ?? '/login'
    const body = JSON.stringify(Object.fromEntries(new FormData(form)))
    const started = performance.now()
    result.classList.remove('error')
    result.textContent = route === '/register' ? 'Registering…' : 'Logging in…'
    try {
      const res = await fetch(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      const answer = await res.json().catch(() => ({}))
      const ms = Math.round(performance.now() - started)
      if (res.ok) {
        // The login guard says when this browser's device cookie made it a trusted login.
        const how = answer.trusted ? ' as a trusted device' : ''
        result.textContent = route === '/register' ? `Registered ${answer.username} (${ms} ms)` : `Logged in${how} (${ms} ms)`
      } else {
        result.classList.add('error')
        result.textContent = `${res.status}: ${answer.error ?? res.statusText} (${ms} ms)`
      }
    } catch (err) {
      result.classList.add('error')
      result.textContent = `The server did not answer: ${err.message}`
    }
  })
}
