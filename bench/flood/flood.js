// k6 script of `npm run bench:flood` (bench/flood/run.js runs it against each server): a flood of
// wrong passwords, and the people who still need to log in meanwhile. Every client's address goes
// in X-Forwarded-For (the servers trust loopback), so k6 on one machine is many clients.
//
//   attack     ATTACK_RATE logins a second (3x what the machine computes), from 1,000 addresses
//              (198.18.0.0/15), from the start to the end: one in five at a returning user's name,
//              the rest at names that do not exist; never the right password
//   returning  10 logins a second, round-robin over RETURNING users, each from its own address,
//              with the device cookie it got from its login in setup() (if the server gave one),
//              measured for DURATION after WARMUP
//   firsttime  2 logins a second, each a different user (of FIRST_TIME), from an address of its
//              own, with the right password and no cookie, over the same window
//   health     GET /health 10 times a second, over the same window
//
// Env: BASE_URL, ATTACK_RATE, RETURNING, FIRST_TIME, DURATION ('60s'), WARMUP ('30s'), MAX_VUS.
// Every login times out at 10 s; an attack iteration k6 had no free VU for counts as dropped.

import http from 'k6/http'
import exec from 'k6/execution'
import { Counter, Rate, Trend } from 'k6/metrics'

const BASE = __ENV.BASE_URL
const ATTACK_RATE = Number(__ENV.ATTACK_RATE)
const RETURNING = Number(__ENV.RETURNING ?? 100)
const FIRST_TIME = Number(__ENV.FIRST_TIME ?? 200)
const DURATION = __ENV.DURATION ?? '60s'
const WARMUP = __ENV.WARMUP ?? '30s'
const MAX_VUS = Number(__ENV.MAX_VUS ?? 1500)
const ADDRESSES = 1000
const seconds = (d) => Number(/^(\d+)s$/.exec(d)[1])

export const options = {
  setupTimeout: '300s',
  discardResponseBodies: true,
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
  scenarios: {
    attack: { executor: 'constant-arrival-rate', exec: 'attack', rate: ATTACK_RATE, timeUnit: '1s', duration: `${seconds(WARMUP) + seconds(DURATION)}s`, preAllocatedVUs: 200, maxVUs: MAX_VUS },
    returning: { executor: 'constant-arrival-rate', exec: 'returning', rate: 10, timeUnit: '1s', startTime: WARMUP, duration: DURATION, preAllocatedVUs: 20, maxVUs: 200 },
    firsttime: { executor: 'constant-arrival-rate', exec: 'firstTime', rate: 2, timeUnit: '1s', startTime: WARMUP, duration: DURATION, preAllocatedVUs: 5, maxVUs: 50 },
    health: { executor: 'constant-arrival-rate', exec: 'health', rate: 10, timeUnit: '1s', startTime: WARMUP, duration: DURATION, preAllocatedVUs: 5, maxVUs: 50 },
  },
  // Declared so that the summary carries the attack's dropped iterations on their own.
  thresholds: Object.fromEntries(['attack', 'returning', 'firsttime'].map((scenario) => [`dropped_iterations{scenario:${scenario}}`, ['count>=0']])),
}

const returningMs = new Trend('returning_ms', true)
const returningFast = new Rate('returning_ok_within_1s')
const returningOk = new Rate('returning_ok')
const returningTrusted = new Rate('returning_trusted')
const firstMs = new Trend('firsttime_ms', true)
const firstOk = new Rate('firsttime_ok')
const healthMs = new Trend('health_ms', true)
const attackOutcome = {
  401: new Counter('attack_401'),
  429: new Counter('attack_429'),
  503: new Counter('attack_503'),
  200: new Counter('attack_200'),
  other: new Counter('attack_other'),
}

const user = (kind, i) => ({ username: `${kind}-${i}`, password: `password of ${kind}-${i}` })

// keepBody: read the answer (bodies are discarded otherwise, to spare k6's memory under the flood).
function login({ username, password }, address, cookie, keepBody = false) {
  const headers = { 'content-type': 'application/json', 'x-forwarded-for': address }
  if (cookie) headers.cookie = cookie
  const params = { headers, timeout: '10s', tags: { name: 'login' } }
  if (keepBody) params.responseType = 'text'
  return http.post(`${BASE}/login`, JSON.stringify({ username, password }), params)
}

const returningAddress = (i) => `192.0.${2 + (i >> 8)}.${i & 255}`

// Each returning user logs in once before the attack: the guard gives it its device cookie.
export function setup() {
  const cookies = []
  for (let i = 0; i < RETURNING; i++) {
    const res = login(user('returning', i), returningAddress(i))
    if (res.status !== 200) throw new Error(`setup: returning-${i} got ${res.status}`)
    const set = res.headers['Set-Cookie']
    cookies.push(set ? set.split(';')[0] : null)
  }
  return { cookies }
}

export function attack() {
  const n = exec.scenario.iterationInTest
  const a = n % ADDRESSES
  const targeted = n % 5 === 0
  const username = targeted ? `returning-${(n / 5) % RETURNING}` : `sprayed-${n}`
  const res = login({ username, password: `guess ${n}` }, `198.18.${a >> 8}.${a & 255}`)
  ;(attackOutcome[res.status] ?? attackOutcome.other).add(1)
}

export function returning(data) {
  const i = exec.scenario.iterationInTest % RETURNING
  const res = login(user('returning', i), returningAddress(i), data.cookies[i], true)
  returningMs.add(res.timings.duration)
  returningOk.add(res.status === 200)
  returningFast.add(res.status === 200 && res.timings.duration <= 1000)
  // The guard answers { ok, trusted }; the others have no such notion.
  returningTrusted.add(res.status === 200 && /"trusted":true/.test(res.body ?? ''))
}

export function firstTime() {
  const k = exec.scenario.iterationInTest
  const res = login(user('first', k % FIRST_TIME), `100.64.${k >> 8}.${k & 255}`)
  firstMs.add(res.timings.duration)
  firstOk.add(res.status === 200)
}

export function health() {
  const res = http.get(`${BASE}/health`, { tags: { name: 'health' } })
  healthMs.add(res.timings.duration)
}
