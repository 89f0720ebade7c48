// Compiled by __test__/types.test.js against argon2.d.ts: every call form of bcrypt-offload/argon2.
import argon2 = require('../../argon2')

async function sample(): Promise<void> {
  const digest: string = await argon2.hash('pw')
  const raw: Buffer = await argon2.hash(Buffer.from('pw'), { raw: true, type: argon2.argon2id, memoryCost: 19456 })
  const scheduled: string = await argon2.hash('pw', { priority: 'high', key: 'k', timeout: 100, signal: AbortSignal.timeout(1000) })
  const ok: boolean = await argon2.verify(digest, 'pw', { secret: Buffer.alloc(8), deadline: new Date() })
  const okSync: boolean = argon2.verifySync(digest, 'pw')
  const sync: string = argon2.hashSync('pw', { timeCost: 3, salt: new Uint8Array(16), associatedData: Buffer.from('ad') })
  const rawSync: Buffer = argon2.hashSync('pw', { raw: true })
  const again: boolean = argon2.needsRehash(digest, { memoryCost: argon2.defaults.memoryCost, type: argon2.argon2i })
  void [raw, scheduled, ok, okSync, sync, rawSync, again]
}
void sample
