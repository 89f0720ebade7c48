// Every call form, as a user's TypeScript would write it. Compiled with `tsc --noEmit` by
// types.test.js; the @ts-expect-error lines must stay errors.
import bcrypt, { compare, genSalt, hash, type Callback, type PoolStats } from 'bcrypt-offload'

async function promiseForms(password: string, bytes: Uint8Array): Promise<boolean> {
  const salt: string = await genSalt()
  const salt12: string = await bcrypt.genSalt(12, 'a')
  const h: string = await hash(password, salt)
  const h2: string = await hash(bytes, 12)
  const h3: string = bcrypt.hashSync(Buffer.from(password), salt12)
  const ok: boolean = await compare(password, h)
  return ok && bcrypt.compareSync(bytes, h2) && bcrypt.getRounds(h3) === 12
}

function callbackForms(password: string): void {
  const done: Callback<string> = (err, value) => {
    if (err) throw err
    bcrypt.compare(password, value, (e: Error | undefined, same: boolean) => console.log(e, same))
  }
  genSalt((err, salt) => hash(password, salt, done))
  genSalt(10, (err, salt) => console.log(err?.message, salt.length))
  genSalt(10, 'b', (err, salt) => console.log(salt))
}

function extras(h: string): [string, boolean, PoolStats] {
  bcrypt.configure({ threads: 2, maxQueue: 1000 })
  bcrypt.configure({ maxQueue: Infinity, lanes: 'auto', compareFirst: true })
  bcrypt.configure({ lanes: 4 })
  const speedup: number | undefined = bcrypt.stats().laneSpeedup?.[3]
  const source: string = bcrypt.stats().lanesSource
  void [speedup, source]
  const p95: number = bcrypt.stats().queueWait.bucketsMs[0]
  return [bcrypt.getSalt(h), bcrypt.truncates('x'.repeat(80)) && bcrypt.needsRehash(h, { rounds: 12 }) && p95 > 0, bcrypt.stats()]
}

async function withSignal(password: string): Promise<number> {
  const controller = new AbortController()
  const h = await hash(password, 10, { signal: controller.signal, rejectLongPasswords: true })
  bcrypt.hashSync(password, 4, { rejectLongPasswords: true })
  bcrypt.configure({ rejectLongPasswords: false })
  compare(password, h, { signal: AbortSignal.timeout(1000) }, (err, same) => console.log(err, same))
  try {
    await compare(password, h, { signal: controller.signal })
  } catch (err) {
    if (err instanceof bcrypt.AbortError) console.log(err.code)
  }
  return (await bcrypt.calibrate(250)) + bcrypt.calibrateSync(250)
}

// @ts-expect-error: rounds is a number
bcrypt.genSaltSync('10')
// @ts-expect-error: minor is 'a' or 'b'
bcrypt.genSaltSync(10, 'y')
// @ts-expect-error: data is a string or bytes
hash(42, 10)
// @ts-expect-error: the callback form returns nothing to await on
const nothing: Promise<string> = hash('pw', 10, () => {})

// @ts-expect-error: a signal, not a boolean
hash('pw', 10, { signal: true })

export { promiseForms, callbackForms, extras, withSignal, nothing }
