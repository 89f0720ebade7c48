'use strict'

// Counts the hashes and compares that the backends in this process finish, so that the live page
// can show operations per second for any backend (only bcrypt-offload has stats() of its own), and
// the calls each backend still has running, so that a burst can wait until its work has stopped.

function opCounter() {
  const counts = { hashes: 0, compares: 0 }

  /** `fn`, its settled calls counted under `key` ('hashes' or 'compares'). */
  const counting = (fn, key) => async (...args) => {
    const result = await fn(...args)
    counts[key]++
    return result
  }

  return {
    counting,
    /** The same backend interface, its hash and compares counted, plus running(): calls not settled yet. */
    wrap(backend) {
      let running = 0
      const counted = (fn, key) => async (...args) => {
        running++
        try {
          const result = await fn(...args)
          counts[key]++
          return result
        } finally {
          running--
        }
      }
      const wrapped = { ...backend, hash: counted(backend.hash, 'hashes'), compare: counted(backend.compare, 'compares'), running: () => running }
      // An unknown account's compare (the login guard's) is a compare's work too.
      if (backend.compareUnknown) wrapped.compareUnknown = counted(backend.compareUnknown, 'compares')
      return wrapped
    },
    /** Hashes and compares finished since the last take. */
    take() {
      const taken = { ...counts }
      counts.hashes = 0
      counts.compares = 0
      return taken
    },
  }
}

module.exports = { opCounter }
