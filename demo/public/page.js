// The demo page: the account form, the load control, the live charts and the attack control, fed
// by one event stream (GET /live, server-sent events; the browser reconnects it by itself).

import { account } from './account.js'
import { bursts } from './bursts.js'
import { attacks } from './attack.js'
import { liveCharts } from './live-charts.js'
import { policySwitch } from './policy.js'

const $ = (id) => document.getElementById(id)

account($('account'), $('account-result'))

const live = liveCharts({ health: $('chart-health'), ops: $('chart-ops'), pool: $('chart-pool'), poolCaption: $('pool-caption'), now: $('now') })
const runs = await bursts({ form: $('burst'), status: $('burst-status'), note: $('burst-note'), canvas: $('chart-runs'), table: $('runs') })
const attack = await attacks({
  form: $('attack'),
  status: $('attack-status'),
  note: $('attack-note'),
  latencyCanvas: $('chart-attack-latency'),
  outcomesCanvas: $('chart-attack-outcomes'),
  summary: $('attack-summary'),
})

policySwitch({ form: $('policy'), select: $('policy-name'), status: $('policy-status'), table: $('policy-formats') })

const pause = $('pause')
pause.addEventListener('click', () => {
  const on = pause.getAttribute('aria-pressed') !== 'true'
  pause.setAttribute('aria-pressed', String(on))
  live.pause(on)
  runs.pause(on)
  attack.pause(on)
})

const stream = new EventSource('/live')
stream.addEventListener('history', (event) => live.reset(JSON.parse(event.data).samples))
stream.addEventListener('sample', (event) => live.add(JSON.parse(event.data)))
stream.addEventListener('burst', (event) => runs.update(JSON.parse(event.data)))
stream.addEventListener('attack', (event) => attack.update(JSON.parse(event.data)))
