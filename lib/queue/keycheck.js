'use strict'

// Whether a worker holds the key the clients seal with. A worker with another key cannot open any
// job, and failing them at once made it the fastest taker of the queue (2 right workers and 1 wrong
// one: 52 of 60 calls ERR_BCRYPT_QUEUE_TAMPERED). So a worker that meets a job naming another key's
// id puts it back and stops taking jobs, unless its own key is proven in use. Jobs cannot prove it
// either way (whoever can write to Redis can add a job naming any key id), so the proof is a record
// clients write when they connect and every few seconds after: a MAC of the queue's name under the
// key, one Redis string per key id (or a waiting job that opens under the worker's key: worker.js,
// proveKey). A writer without the key cannot make one that checks under a worker's key, so forged
// jobs cannot stop a worker whose clients are connected; deleting the record can only pause such a
// worker until a job of its key waits or the record is written again (deleting jobs does more).
// Workers never write it: a worker with another key would prove itself.

const { createHmac, timingSafeEqual } = require('node:crypto')

const proof = (key, name) => createHmac('sha256', key).update(`bcrypt-offload queue key check ${name}`).digest('base64')

/** The record's Redis key, under the queue's prefix (`queue`: a BullMQ Queue or Worker). */
const recordKey = (queue, keyId) => queue.toKey(`keycheck:${keyId}`)

/** Whether `stored` (the record, or null) was written by a holder of `key` for queue `name`. */
function matches(stored, key, name) {
  if (typeof stored !== 'string') return false
  const [a, b] = [Buffer.from(stored), Buffer.from(proof(key, name))]
  return a.length === b.length && timingSafeEqual(a, b)
}

/** A client's side: writes its key's record (idempotent), on `redis` (an ioredis connection). */
const announce = (redis, queue, key, keyId) => redis.set(recordKey(queue, keyId), proof(key, queue.name))

module.exports = { recordKey, matches, announce }
