'use strict'

// `bcrypt-offload rehash-db`: moves a SQLite table of legacy, unsalted MD5 or SHA-1 hex digests onto
// bcrypt without waiting for every user to log in. The passwords are not known, so the digest itself
// is hashed: the row then holds `md5:` or `sha1:` followed by bcrypt(digest hex) (lib/legacy.js,
// where `compareLegacy` checks a login against it).
//
// Resumable: rows are taken in batches in primary-key order, each batch hashed (through the tier,
// or with --local on this machine's pool) and written in one transaction, and a row is only
// written if it still holds the digest that was read. A row already wrapped is no longer a digest,
// so a run started again after a crash picks up where the last committed batch ended.

const { legacyKind, wrap } = require('../legacy.js')

// Table and column names are spliced into SQL, so only plain identifiers are taken.
const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const notPlain = (identifier) => `not a plain SQL identifier: ${JSON.stringify(identifier)}`

const quote = (identifier) => {
  if (!PLAIN_IDENTIFIER.test(identifier)) throw new RangeError(notPlain(identifier))
  return `"${identifier}"`
}

// A legacy digest: 32 or 40 hex characters (SQLite's GLOB has no repetition, so the length and a
// "no character outside hex" test).
const legacyWhere = (col) => `length(${col}) IN (32, 40) AND ${col} NOT GLOB '*[^0-9A-Fa-f]*'`

/**
 * Why `idColumn` cannot order the run, or undefined: batches resume after the last id written, so
 * a repeated id would leave the rows that share it with a batch's last one unconverted, and a NULL
 * one is never reached. One scan of the table, before any row is touched.
 */
function idColumnProblem(db, table, idColumn) {
  const id = quote(idColumn)
  const { rows, ids, nulls } = db
    .prepare(`SELECT count(*) AS rows, count(DISTINCT ${id}) AS ids, count(*) - count(${id}) AS nulls FROM ${quote(table)}`)
    .get()
  if (ids === rows) return undefined
  return `--id-column ${idColumn} must be unique and never NULL (rehash-db resumes after the last id it wrote): ${table} has ${rows} rows, ${ids} distinct ids, ${nulls} NULL`
}

/** How many rows of `table` still hold a legacy digest. */
const countLegacy = (db, table, hashColumn) => db.prepare(`SELECT count(*) AS n FROM ${quote(table)} WHERE ${legacyWhere(quote(hashColumn))}`).get().n

/**
 * Wraps every legacy digest of `table`.`hashColumn`. `bcrypt`: anything with `hash(data, rounds)`
 * (the package, or a queue client). `onProgress({ done, total, skipped, elapsedMs })` after each
 * batch. Resolves the totals.
 */
async function rehashTable({ db, table, idColumn = 'id', hashColumn = 'password', cost = 10, batch = 64, bcrypt, onProgress = () => {} }) {
  const [t, id, col] = [quote(table), quote(idColumn), quote(hashColumn)]
  const isLegacy = legacyWhere(col)
  const total = countLegacy(db, table, hashColumn)
  const next = db.prepare(`SELECT ${id} AS id, ${col} AS digest FROM ${t} WHERE (@after IS NULL OR ${id} > @after) AND ${isLegacy} ORDER BY ${id} LIMIT @limit`)
  const update = db.prepare(`UPDATE ${t} SET ${col} = ? WHERE ${id} = ? AND ${col} = ?`)
  const commit = db.transaction((rows) => rows.reduce((n, r) => n + update.run(r.stored, r.id, r.digest).changes, 0))
  const started = performance.now()
  let done = 0
  let skipped = 0 // changed by someone else (a login) between our read and our write
  let after = null
  for (;;) {
    const rows = next.all({ after, limit: batch })
    if (rows.length === 0) break
    after = rows[rows.length - 1].id
    const hashed = await Promise.all(rows.map((r) => bcrypt.hash(r.digest.toLowerCase(), cost)))
    const written = commit(rows.map((r, i) => ({ ...r, stored: wrap(legacyKind(r.digest), hashed[i]) })))
    done += written
    skipped += rows.length - written
    onProgress({ done, total, skipped, elapsedMs: performance.now() - started })
  }
  return { done, total, skipped, elapsedMs: performance.now() - started }
}

// A progress bar on stderr: redrawn in place on a terminal, a line every 5 s otherwise.
function progressBar(stream = process.stderr) {
  let lastLine = 0
  const format = ({ done, total, skipped, elapsedMs }) => {
    const width = 30
    const fraction = total ? Math.min(1, (done + skipped) / total) : 1
    const filled = Math.round(fraction * width)
    const rate = done / (elapsedMs / 1000 || 1)
    const left = rate > 0 ? Math.max(0, total - done - skipped) / rate : 0
    const eta = left >= 60 ? `${Math.floor(left / 60)}m${String(Math.round(left % 60)).padStart(2, '0')}s` : `${left.toFixed(0)}s`
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${done}/${total} rows, ${rate.toFixed(1)} rows/s, ETA ${eta}${skipped ? `, ${skipped} changed meanwhile` : ''}`
  }
  return {
    update(p) {
      if (stream.isTTY) return stream.write(`\r${format(p)}`)
      if (performance.now() - lastLine >= 5000 || p.done + p.skipped >= p.total) {
        lastLine = performance.now()
        stream.write(`${format(p)}\n`)
      }
    },
    end: () => stream.isTTY && stream.write('\n'),
  }
}

async function cli(args, { parse, int, fail, redisOptions, redisUrl }) {
  const o = parse(args, {
    ...redisOptions,
    db: { type: 'string' },
    table: { type: 'string' },
    'id-column': { type: 'string', default: 'id' },
    'hash-column': { type: 'string', default: 'password' },
    cost: { type: 'string', default: '10' },
    batch: { type: 'string', default: '64' },
    name: { type: 'string' },
    local: { type: 'boolean', default: false },
  })
  if (!o.db || !o.table) fail('rehash-db needs --db and --table')
  const redis = redisUrl(o)
  // The package clamps a cost out of range (as bcrypt does), which here would store what was not
  // asked for (99 is 31: a day per hash): refused instead. The range is the binding's.
  const { MIN_COST, MAX_COST } = require('../../binding.js')
  const cost = int(o.cost, '--cost')
  if (cost < MIN_COST || cost > MAX_COST) fail(`--cost must be from ${MIN_COST} to ${MAX_COST}, got ${cost}`)
  const batch = int(o.batch, '--batch')
  if (batch < 1) fail(`--batch must be at least 1, got ${batch}`)
  let Database
  try {
    Database = require('better-sqlite3')
  } catch {
    fail('rehash-db needs better-sqlite3: npm install better-sqlite3')
  }
  const db = new Database(o.db, { fileMustExist: true })
  let journal
  let bcrypt
  try {
    for (const identifier of [o.table, o['id-column'], o['hash-column']]) {
      if (!PLAIN_IDENTIFIER.test(identifier)) fail(notPlain(identifier))
    }
    const problem = idColumnProblem(db, o.table, o['id-column'])
    if (problem) fail(problem)
    // WAL for the run, so that logins read the table while batches are written; the journal mode
    // the database had is put back at the end. A run killed midway leaves WAL, and the next run,
    // finding WAL, cannot know it was not the database's own: the message says how to put it back.
    journal = db.pragma('journal_mode', { simple: true })
    if (journal !== 'wal') {
      db.pragma('journal_mode = WAL')
      console.log(`rehash-db: journal mode WAL for the run (it was ${journal}; put back at the end, or if this run is killed with PRAGMA journal_mode = ${journal.toUpperCase()})`)
    }
    bcrypt = o.local ? require('../../index.js') : require('../queue/client.js').connect({ redis, cluster: o.cluster, name: o.name, timeout: 60_000 })
    const bar = progressBar()
    const pending = countLegacy(db, o.table, o['hash-column'])
    console.log(`rehash-db: ${o.db} ${o.table}.${o['hash-column']}: ${pending} legacy digests to wrap in bcrypt (cost ${cost}), ${o.local ? 'on this machine' : 'through the queue tier'}`)
    const result = await rehashTable({
      db,
      table: o.table,
      idColumn: o['id-column'],
      hashColumn: o['hash-column'],
      cost,
      batch,
      bcrypt,
      onProgress: bar.update,
    })
    bar.end()
    const rate = result.done / (result.elapsedMs / 1000 || 1)
    console.log(`rehash-db: wrapped ${result.done} rows in ${(result.elapsedMs / 1000).toFixed(1)} s (${rate.toFixed(1)} rows/s)${result.skipped ? `; ${result.skipped} rows changed meanwhile and were left alone` : ''}`)
  } finally {
    if (journal !== undefined && journal !== 'wal') {
      try {
        db.pragma(`journal_mode = ${journal}`)
      } catch (err) {
        console.error(`rehash-db: could not put the journal mode back to ${journal} (${err.message}); the database stays in WAL`)
      }
    }
    db.close()
    if (bcrypt && !o.local) await bcrypt.close()
  }
}

module.exports = { cli }
