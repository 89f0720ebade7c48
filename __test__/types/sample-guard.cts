// Compiled by __test__/types.test.js against guard.d.ts: the guard's options, login() and its
// result, the Express handler, and a shared lockout store.
import guardModule = require('bcrypt-offload/guard')
import type { Guard, LockoutStore, LoginResult } from 'bcrypt-offload/guard'

declare const bcrypt: guardModule.GuardBcrypt

async function sample(): Promise<void> {
  const guard: Guard = guardModule.createGuard({
    bcrypt,
    keys: [Buffer.alloc(32), 'k'.repeat(32)],
    rounds: 10,
    fairness: 'both',
    lockout: { failures: 10, windowMs: 15 * 60_000, maxEntries: 50_000 },
    timeout: { trusted: 1000, untrusted: 2000 },
    cookie: { name: 'device', maxAgeMs: 30 * 86_400_000, secure: false, sameSite: 'Lax', path: '/' },
  })
  const r: LoginResult = await guard.login({ account: 'ann', password: 'pw', hash: undefined, address: '192.0.2.1', deviceCookie: undefined })
  const status: 200 | 401 | 429 | 503 = r.status
  const header: string | undefined = r.setCookie
  const wait: number | undefined = r.retryAfter
  await guard.login({ account: 'ann', password: Buffer.from('pw'), hash: null, signal: AbortSignal.timeout(1000) })
  void [status, header, wait, guard.issueCookie('ann'), guard.cookieName]

  const handler = guard.express({
    account: (req) => req.body?.username,
    password: (req) => req.body?.password,
    hash: async (account: string) => (account === 'ann' ? '$2b$10$...' : undefined),
  })
  void handler

  const counts = new Map<string, { count: number; resetAt: number }>()
  const store: LockoutStore = {
    get: async (key, now) => {
      const e = counts.get(key)
      return e && e.resetAt > now ? e : undefined
    },
    hit: (key, windowMs, now) => {
      const e = counts.get(key) ?? { count: 0, resetAt: now + windowMs }
      e.count++
      counts.set(key, e)
      return e
    },
  }
  guardModule.createGuard({ bcrypt, keys: [Buffer.alloc(32)], lockout: { store } })
  const shared = guardModule.memoryStore({ maxEntries: 10 })
  void shared.size

  // @ts-expect-error: fairness is 'address', 'account' or 'both'
  guardModule.createGuard({ bcrypt, keys: [Buffer.alloc(32)], fairness: 'ip' })
  // @ts-expect-error: keys are required
  guardModule.createGuard({ bcrypt })
  // @ts-expect-error: the reason is one of four
  const reason: 'denied' = r.reason
  void reason
}
void sample
