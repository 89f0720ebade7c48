'use strict'

// A worker thread that times GET /health over HTTP, as a client outside the server would.
//
// Why a thread: a probe on the server's own event loop fires late when a synchronous hash blocks
// that loop, then finds the server free and reports a fast answer. This thread has its own loop, so
// it sends on schedule whatever the main one is doing, and times each request from when it meant
// to send it. Its socket I/O never touches libuv's threadpool (the URL is an IP address, so there
// is no dns.lookup), so a threadpool full of bcrypt hashes delays the server, not the probe.
//
// Every reportMs it posts { latencies, stalledMs }: the latencies (ms) of the requests answered
// since the last report, and how long the oldest unanswered one has waited, so that a stall shows
// while it lasts and not only once it ends.

const http = require('node:http')
const { parentPort, workerData } = require('node:worker_threads')

const { url, everyMs, reportMs, maxOutstanding } = workerData
const agent = new http.Agent({ keepAlive: true, maxSockets: maxOutstanding })
const outstanding = new Set()
let latencies = []

function send() {
  // Past this many unanswered, the server is stalled and stalledMs already says so; more sockets
  // would only add to its backlog.
  if (outstanding.size >= maxOutstanding) return
  const sentAt = performance.now()
  outstanding.add(sentAt)
  const done = () => {
    if (outstanding.delete(sentAt)) latencies.push(performance.now() - sentAt)
  }
  http
    .get(url, { agent }, (res) => {
      res.resume()
      res.on('end', done)
    })
    .on('error', () => outstanding.delete(sentAt))
}

setInterval(send, everyMs)
setInterval(() => {
  const now = performance.now()
  const oldest = Math.min(now, ...outstanding)
  parentPort.postMessage({ latencies, stalledMs: now - oldest })
  latencies = []
}, reportMs)
