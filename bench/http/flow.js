// k6 script against the demo. Default: each virtual user loops register → login → health.
// With RATE set: an open-loop overload, RATE flows started per second whatever the server does
// (register, then login if registered), as clients arrive in the real world.
//   BASE_URL (required), VUS (100), DURATION (30s), RATE (unset)
import http from 'k6/http'
import { check } from 'k6'
import { Counter } from 'k6/metrics'

const BASE = __ENV.BASE_URL
const RATE = Number(__ENV.RATE || 0)
const DURATION = __ENV.DURATION || '30s'
const flows = new Counter('flows')

export const options = {
  scenarios: {
    flows: RATE
      ? { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: DURATION, preAllocatedVUs: 200, maxVUs: 3000, gracefulStop: '60s' }
      : { executor: 'constant-vus', vus: Number(__ENV.VUS || 100), duration: DURATION, gracefulStop: '60s' },
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max', 'count'],
  // Thresholds that always pass: they make k6 report these sub-metrics in the summary.
  thresholds: {
    'http_req_duration{name:register}': ['max>=0'],
    'http_req_duration{name:login}': ['max>=0'],
    'http_req_duration{name:health}': ['max>=0'],
    'http_req_duration{status:503}': ['max>=0'],
    'http_req_duration{status:201}': ['max>=0'],
  },
}

const json = (name) => ({ headers: { 'Content-Type': 'application/json' }, tags: { name }, timeout: '120s' })

// A flow counts when it started inside DURATION, though k6 lets it end in the graceful stop: in
// the closed loop the time the first flows take to come through and the flows finished after
// DURATION cancel out (the VUs start as many flows as were finished, plus one each), so the count
// divided by DURATION is the steady rate even for short runs and slow backends.
export default function () {
  const username = `u${__VU}-${__ITER}-${Math.random().toString(36).slice(2, 10)}`
  const body = JSON.stringify({ username, password: `pw ${username}` })
  const registered = http.post(`${BASE}/register`, body, json('register'))
  if (RATE && registered.status !== 201) return
  const loggedIn = http.post(`${BASE}/login`, body, json('login'))
  let ok = check(registered, { 'register 201': (r) => r.status === 201 }) && check(loggedIn, { 'login 200': (r) => r.status === 200 })
  if (!RATE) ok = check(http.get(`${BASE}/health`, { tags: { name: 'health' } }), { 'health 200': (r) => r.status === 200 }) && ok
  if (ok) flows.add(1)
}
