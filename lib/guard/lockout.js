'use strict'

// Failure counting for the guard's two lockouts (OWASP's device-cookie protocol): one per account,
// for every client without a valid device cookie of that account, and one per device cookie (its
// nonce), for a trusted device. A key is locked once its failures in the current window, plus the
// attempts on it still being computed, reach `failures`: counting the attempts in flight keeps a
// thousand guesses sent at once from all being computed before the first one fails.
//
// The counts live in a store (the interface is in guard.d.ts): `memoryStore()` by default, or a
// shared one (Redis) so that every process of a service sees the same counts. The attempts in
// flight are this process's own and stay in memory: their number is bounded by the requests open.

const DEFAULT_MAX_ENTRIES = 100_000

/**
 * The in-memory store: fixed windows (a key's window starts at its first failure and lasts
 * `windowMs`), at most `maxEntries` keys. Past that the oldest key is dropped first, so that an
 * attacker who fails on ever new names cannot grow it without limit; the price is that such an
 * attacker, with `maxEntries` failures inside one window, can clear a lockout early. Size it above
 * the compares your pool does in one window (about 100/s at cost 10 on 2 cores: 90,000 in 15 min).
 */
function memoryStore({ maxEntries = DEFAULT_MAX_ENTRIES } = {}) {
  // Insertion order is the order in which windows started, so the oldest entry is the first one.
  const entries = new Map()

  // Drops ended windows from the front: with one window length they end in the order they began.
  function prune(now) {
    for (const [key, entry] of entries) {
      if (entry.resetAt > now) return
      entries.delete(key)
    }
  }

  return {
    get(key, now) {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      if (entry.resetAt <= now) {
        entries.delete(key)
        return undefined
      }
      return { count: entry.count, resetAt: entry.resetAt }
    },
    hit(key, windowMs, now) {
      prune(now)
      let entry = entries.get(key)
      if (entry === undefined || entry.resetAt <= now) {
        entries.delete(key)
        entry = { count: 0, resetAt: now + windowMs }
        entries.set(key, entry)
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value)
      }
      entry.count++
      return { count: entry.count, resetAt: entry.resetAt }
    },
    /** Keys held now (ended windows not yet pruned included). */
    get size() {
      return entries.size
    },
  }
}

/**
 * The lockout over a store: `enter(key, now)` counts an attempt in flight and answers whether it may
 * go on; every attempt entered is then left exactly once with `leave(key, failed, now)`.
 */
function createLockout({ failures, windowMs, store }) {
  const inFlight = new Map()

  function release(key) {
    const n = inFlight.get(key) - 1
    if (n === 0) inFlight.delete(key)
    else inFlight.set(key, n)
  }

  return {
    /**
     * Resolves `{ allowed: true }`, or `{ allowed: false, retryAfter }` (seconds) when the key is
     * locked, in which case the attempt has already been left. The count in flight is taken before
     * the store is asked, so that concurrent attempts see one another whatever the store's latency.
     */
    async enter(key, now) {
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1)
      let entry
      try {
        entry = await store.get(key, now)
      } catch (err) {
        release(key)
        throw err
      }
      if ((entry?.count ?? 0) + inFlight.get(key) <= failures) return { allowed: true }
      release(key)
      // Locked by its failures until the window ends; by attempts still in flight only until they
      // settle, within a compare's timeout.
      const byFailures = entry !== undefined && entry.count >= failures
      const retryAfter = byFailures ? Math.max(1, Math.ceil((entry.resetAt - now) / 1000)) : 1
      return { allowed: false, retryAfter }
    },
    /** Ends an attempt that was allowed; a failed one is recorded in the store. */
    async leave(key, failed, now) {
      release(key)
      if (failed) await store.hit(key, windowMs, now)
    },
  }
}

module.exports = { memoryStore, createLockout, DEFAULT_MAX_ENTRIES }
