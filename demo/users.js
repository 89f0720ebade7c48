'use strict'

// Users in SQLite (better-sqlite3), in a file under DATA_DIR, so that they survive a restart; or,
// with no folder given, in memory (the load bursts' throwaway accounts).

const fs = require('node:fs')
const path = require('node:path')
const Database = require('better-sqlite3')

function openUsers(dataDir) {
  let file = ':memory:'
  if (dataDir !== undefined) {
    fs.mkdirSync(dataDir, { recursive: true })
    file = path.join(dataDir, 'users.sqlite')
  }
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.exec(`CREATE TABLE IF NOT EXISTS users (
    username   TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
  )`)
  const find = db.prepare('SELECT hash FROM users WHERE username = ?')
  const insert = db.prepare('INSERT INTO users (username, hash) VALUES (?, ?) ON CONFLICT (username) DO NOTHING')
  const update = db.prepare('UPDATE users SET hash = ? WHERE username = ?')
  const all = db.prepare('SELECT hash FROM users').pluck()
  return {
    /** The stored hash, or undefined. */
    hashOf: (username) => find.get(username)?.hash,
    /** False when the name is taken. */
    add: (username, hash) => insert.run(username, hash).changes === 1,
    replaceHash: (username, hash) => update.run(hash, username),
    /** Every stored hash, for the page's count of accounts by format (demo/policy.js). */
    hashes: () => all.iterate(),
    close: () => db.close(),
  }
}

module.exports = { openUsers }
