'use strict'

// Redis connections for the queue tier, and the two optional peer dependencies (bullmq, ioredis)
// loaded only here, so that `require('bcrypt-offload')` never needs them.
//
// Three kinds of connection, set up differently on purpose:
// - The caller's producing connection (adds jobs, removes them): it must fail fast. With no offline
//   queue and no retries a command on a dead connection fails at once, and `commandTimeout` fails
//   one a hung server (SIGSTOP) never answers, so a call never waits on Redis past its deadline.
// - Blocking connections (the client's event reader's XREAD, a Worker's BZPOPMIN): they wait by
//   design, so they get neither setting; a command timeout would kill every blocking read.
// - All of them reconnect quickly (BullMQ's own strategy waits at least 1 s, up to 20 s), so that a
//   restarted Redis serves again within about a second.

const { isIP } = require('node:net')

const { error } = require('./errors.js')

/** bullmq and ioredis, or the table's error naming what to install. */
function loadPeers() {
  const missing = []
  const load = (name) => {
    try {
      return require(name)
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') throw err
      missing.push(name)
    }
  }
  const bullmq = load('bullmq')
  const ioredis = load('ioredis')
  if (missing.length) throw error('QueueDependencies', missing.join(' and '))
  return { bullmq, IORedis: ioredis.default ?? ioredis }
}

const RECONNECT_MS = [50, 100, 200, 500]
const retryStrategy = (times) => RECONNECT_MS[Math.min(times, RECONNECT_MS.length) - 1]

/**
 * ioredis options from a `redis://` or `rediss://` URL: host, port, database, user and password
 * (AUTH), and TLS for `rediss:` (ioredis's `tls`, merged with `tls` given here: a CA, client
 * certificates). Throws the table's error for anything else; the message never repeats a password.
 */
function optionsFromUrl(url, { tls } = {}) {
  let u
  try {
    u = new URL(url)
  } catch {
    throw error('QueueUrl', typeof url === 'string' ? 'a string that is not a URL' : typeof url)
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw error('QueueUrl', `the scheme ${JSON.stringify(u.protocol)}`)
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1'
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0
  if (!Number.isInteger(db) || db < 0) throw error('QueueUrl', 'a path that is not a database number')
  const options = { host, port: Number(u.port || 6379), db, retryStrategy }
  if (u.username) options.username = decodeURIComponent(u.username)
  if (u.password) options.password = decodeURIComponent(u.password)
  // SNI names a host, never an address (RFC 6066); the certificate is still checked against either.
  if (u.protocol === 'rediss:') options.tls = { ...(isIP(host) ? {} : { servername: host }), ...tls }
  else if (tls) options.tls = { ...tls }
  return options
}

/** The producing connection's options: fail at once when down, within `commandTimeout` when hung. */
const producerOptions = (base, commandTimeout) => ({
  ...base,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout,
  connectTimeout: Math.max(commandTimeout, 1000),
})

/** A blocking connection's options (BullMQ requires maxRetriesPerRequest null there). */
const blockingOptions = (base) => ({ ...base, maxRetriesPerRequest: null })

// Redis Cluster. BullMQ's scripts take several of a queue's keys at once, which a cluster serves
// only when they hash to one slot (CROSSSLOT otherwise; bullmq issues #906, #1232): so the queue's
// keys, `<prefix>:<name>:…`, must carry a hash tag, a `{…}` Redis hashes instead of the whole key,
// within `<prefix>:<name>` (the part every key of the queue shares). Under `cluster` the default
// prefix is the usual one as a tag (`{bull}`); a prefix and name without a tag are refused rather
// than left to fail every call.

// Whether every key that starts `<prefix>:<name>:` hashes by the same non-empty tag (Redis's rule:
// the first `{`, then the first `}` after it).
function tagged(prefix, name) {
  const shared = `${prefix}:${name}`
  const open = shared.indexOf('{')
  const close = shared.indexOf('}', open + 1)
  return open >= 0 && close > open + 1
}

/**
 * The connections of one client or worker on `base` (optionsFromUrl's options). `producer()` is the
 * caller's producing connection (producerOptions); `blocking()` what a Worker takes
 * (blockingOptions: BullMQ makes and closes that connection); `reader()` the client's event reader's
 * own blocking connection (the caller closes it). With `cluster` true the URL names one
 * node of a Redis Cluster, from which ioredis finds the others (AUTH and TLS alike on every node);
 * both are then ioredis Clusters, which BullMQ does not close: `close()` drops the blocking ones.
 * `prefix` is the one given (undefined for `defaultPrefix`); the queue's is returned with them.
 */
function connections(IORedis, base, { cluster = false, prefix, defaultPrefix, name, commandTimeout }) {
  if (typeof cluster !== 'boolean') throw error('SettingType', 'cluster', 'a boolean')
  if (!cluster) {
    return {
      prefix: prefix ?? defaultPrefix,
      producer: () => new IORedis(producerOptions(base, commandTimeout)),
      blocking: () => blockingOptions(base),
      reader: () => new IORedis(blockingOptions(base)),
      close() {},
    }
  }
  prefix ??= `{${defaultPrefix}}`
  if (!tagged(prefix, name)) throw error('SettingRange', 'prefix', `tagged, such as "{${defaultPrefix}}", with cluster (or name must hold a {tag})`)
  if (base.db !== 0) throw error('QueueUrl', `database ${base.db} (a Redis Cluster has only database 0)`)
  const { host, port, db, retryStrategy, ...node } = base
  const blocking = []
  const make = (own, redisOptions) =>
    new IORedis.Cluster([{ host, port }], { clusterRetryStrategy: retryStrategy, ...own, redisOptions: { ...node, ...redisOptions } })
  const { enableOfflineQueue, ...producerNode } = producerOptions({}, commandTimeout)
  return {
    prefix,
    // The offline queue is the Cluster's own; the rest applies to each node's connection.
    producer: () => make({ enableOfflineQueue }, producerNode),
    blocking: () => {
      const connection = make({}, blockingOptions({}))
      blocking.push(connection)
      return connection
    },
    reader: () => make({}, blockingOptions({})),
    close() {
      for (const connection of blocking.splice(0)) connection.disconnect()
    },
  }
}

module.exports = { loadPeers, optionsFromUrl, connections }
