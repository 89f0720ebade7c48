// Compiled by __test__/types.test.js against queue.d.ts: the queue client's call forms.
import queue = require('bcrypt-offload/queue')
import bcrypt = require('bcrypt-offload')

async function sample(): Promise<void> {
  const client = queue.connect({ redis: 'redis://127.0.0.1:6379', key: queue.newKey(), timeout: 5000, maxWaiting: 100, fallback: 'local' })
  await client.ready()
  const h: string = await client.hash('pw', 10)
  const h2: string = await client.hash(Buffer.from('pw'), client.genSaltSync(10), { signal: AbortSignal.timeout(1000), rejectLongPasswords: true })
  const ok: boolean = await client.compare('pw', h, { signal: new AbortController().signal })
  client.hash('pw', 10, (err: Error | undefined, result: string) => void [err, result])
  client.compare('pw', h2, {}, (err: Error | undefined, result: boolean) => void [err, result, ok])
  const unknown: false = await client.compareUnknown('pw', { rounds: 10, priority: 'high', key: '203.0.113.7', timeout: 500 })
  client.compareUnknown('pw', (err: Error | undefined, result: false) => void [err, result, unknown])
  const legacy: { ok: boolean; upgrade: boolean } = await queue.compareLegacy(client, 'pw', 'md5:$2b$10$…')
  const viaPackage: boolean = (await queue.compareLegacy(bcrypt, Buffer.from('pw'), h)).ok
  void [legacy, viaPackage]
  const digest: string = await client.argon2.hash('pw', { type: client.argon2.argon2id, memoryCost: 19456, priority: 'high', signal: AbortSignal.timeout(1000) })
  const raw: Buffer = await client.argon2.hash(Buffer.from('pw'), { raw: true, salt: Buffer.alloc(16) })
  const verified: boolean = await client.argon2.verify(digest, 'pw', { secret: Buffer.from('pepper'), timeout: 500 })
  const stale: boolean = client.argon2.needsRehash(digest, { memoryCost: client.argon2.defaults.memoryCost })
  void [raw, verified, stale]
  const pending: number = client.stats().pending
  void pending
  await client.close()
  const worker = queue.startWorker({ redis: 'rediss://cache:6380', tls: { ca: 'PEM' }, threads: 2, lockDuration: 5000, stalledInterval: 2000 })
  const computed: number = worker.stats().hash + worker.stats().argon2Hash + worker.stats().argon2Verify + worker.stats().pool.completed + worker.stats().returned
  const refused: boolean = worker.stats().keyRefused
  const depth = await worker.waiting()
  const high: number | undefined = depth?.high
  void [computed, refused, high]
  await worker.close({ graceMs: 1000 })
  const onCluster = queue.connect({ redis: 'redis://node-1:6379', cluster: true, prefix: '{bcrypt}' })
  await onCluster.close()
}
void sample
