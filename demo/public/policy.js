// The password policy control: which hash new accounts get (POST /policy), and how many accounts
// are on each stored format (GET /policy, every 2 s, so that upgrades by login show as they happen).

const LABELS = { bcrypt: 'bcrypt', argon2id: 'argon2id (OWASP: 19 MiB, t=2, p=1)' }
const describe = (policy) =>
  policy.algorithm === 'bcrypt' ? `bcrypt, cost ${policy.cost}` : `${policy.algorithm}, m=${policy.memoryCost} KiB, t=${policy.timeCost}, p=${policy.parallelism}`

export function policySwitch({ form, select, status, table }) {
  const body = table.tBodies[0]

  function show(state) {
    if (select.options.length === 0) {
      for (const name of state.choices) select.add(new Option(LABELS[name] ?? name, name))
    }
    if (document.activeElement !== select) select.value = state.name
    const { total, current, formats } = state.accounts
    status.textContent = `Policy: ${describe(state.policy)}. ${current} of ${total} accounts on it.`
    body.replaceChildren()
    for (const [format, count] of Object.entries(formats)) {
      const row = body.insertRow()
      row.insertCell().textContent = String(count.accounts)
      row.insertCell().textContent = format
      row.insertCell().textContent = String(count.current)
    }
  }

  async function refresh() {
    try {
      const res = await fetch('/policy')
      if (res.ok) show(await res.json())
    } catch {
      // The server is away; the next refresh tries again.
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const res = await fetch('/policy', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: select.value }) })
    const answer = await res.json().catch(() => ({}))
    if (res.ok) show(answer)
    else status.textContent = `${res.status}: ${answer.error ?? res.statusText}`
  })

  refresh()
  setInterval(refresh, 2000)
}
