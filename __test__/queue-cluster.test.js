'use strict'

// The tier on a real Redis Cluster: three redis-server masters on loopback ports of this file's own,
// joined by `redis-cli --cluster create`. A client and a worker, each given a different node, work
// through ioredis Clusters with the default prefix under `cluster` (`{bull}`, a hash tag: BullMQ's
// scripts need all of a queue's keys in one slot), and a request rewritten on the node that holds
// the queue is refused as on a single Redis. A prefix without a tag is refused at once.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const net = require('node:net')

const local = require('..')
const { startRedis, queueTestFile, queueName, until, settle, spawnWorker } = require('./redis-helpers.js')
const { connect, startWorker, newKey } = require('../queue.js')

queueTestFile()

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

const nodes = []
test.before(async () => {
  // Each node's cluster bus on a free port of its own (by default it is the port + 10000, which
  // may be taken, or past 65535).
  for (let i = 0; i < 3; i++) {
    const bus = await freePort()
    nodes.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(bus)] }))
  }
  const made = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stdout + made.stderr)
  await until(async () => (await Promise.all(nodes.map((n) => n.command('CLUSTER', 'INFO')))).every((info) => String(info).includes('cluster_state:ok')), 50)
})
test.after(() => Promise.all(nodes.map((n) => n.destroy())))

// The nodes holding keys of queue `name`, with those keys.
async function holders(name) {
  const found = await Promise.all(nodes.map(async (node) => ({ node, keys: (await node.command('KEYS', `{bull}:${name}:*`)).map(String) })))
  return found.filter(({ keys }) => keys.length > 0)
}

test('hash, compare and a rewritten request on a Redis Cluster, through any node', { timeout: 60_000 }, async () => {
  const key = newKey()
  const name = queueName()
  const client = connect({ redis: nodes[0].url, key, name, cluster: true, timeout: 30_000 })
  let worker
  try {
    await client.ready()
    // A request rewritten where it waits (one bit of its sealed data flipped), before any worker runs.
    const rewritten = settle(client.hash('tampered with', 4))
    let job
    await until(async () => {
      const [holder] = await holders(name)
      const id = holder?.keys.map((k) => k.split(':')[2]).find((part) => /^[0-9a-f-]{36}$/.test(part))
      job = id && { node: holder.node, id }
      return job
    })
    const data = JSON.parse(String(await job.node.command('HGET', `{bull}:${name}:${job.id}`, 'data')))
    const bytes = Buffer.from(data.s, 'base64')
    bytes[bytes.length - 1] ^= 1
    await job.node.command('HSET', `{bull}:${name}:${job.id}`, 'data', JSON.stringify({ ...data, s: bytes.toString('base64') }))

    worker = startWorker({ redis: nodes[1].url, key, name, cluster: true })
    await worker.ready()
    const { error } = await rewritten
    assert.equal(error?.code, 'ERR_BCRYPT_QUEUE_TAMPERED')

    const hash = await client.hash('cluster password', 4)
    assert.equal(local.compareSync('cluster password', hash), true)
    assert.equal(await client.compare('cluster password', hash), true)
    assert.equal(await client.compare('wrong password', hash), false)
    // Every key of the queue in one slot, so on one node.
    assert.equal((await holders(name)).length, 1)
  } finally {
    await Promise.all([client.close(), worker?.close({ graceMs: 100 })])
  }
})

test('the CLI worker with --cluster serves a queue on a Redis Cluster', { timeout: 60_000 }, async () => {
  const key = newKey()
  const name = queueName()
  const client = connect({ redis: nodes[0].url, key, name, cluster: true, timeout: 30_000 })
  const worker = await spawnWorker(nodes[2], key, name, ['--cluster'])
  try {
    const hash = await client.hash('cluster cli password', 4)
    assert.equal(local.compareSync('cluster cli password', hash), true)
    assert.equal(await client.compare('not it', hash), false)
    assert.equal((await holders(name)).length, 1)
  } finally {
    worker.kill('SIGKILL')
    await client.close()
  }
})

test('on a cluster, a prefix and name without a hash tag are refused at once', () => {
  const options = { redis: nodes[0].url, key: newKey(), cluster: true }
  for (const make of [connect, startWorker]) {
    assert.throws(() => make({ ...options, prefix: 'bull' }), { code: 'ERR_OUT_OF_RANGE', message: /^prefix must be tagged, such as "\{bull\}", with cluster/ })
    // A tag that closes only in a key's own part, or an empty one (Redis hashes the whole key).
    assert.throws(() => make({ ...options, prefix: 'a{', name: 'b' }), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => make({ ...options, prefix: '{}' }), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => make({ ...options, cluster: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => make({ ...options, redis: `${options.redis}/1` }), { code: 'ERR_INVALID_ARG_VALUE', message: /database 1/ })
  }
})
