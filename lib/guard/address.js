'use strict'

// The client address as a fair-share key. An IPv4 address is its own key. An IPv6 client is
// usually given a whole /64 (RFC 6177), 2^64 addresses it can take one after the other, so a key
// per IPv6 address would give one attacker as many fair shares as it likes: its key is the /64.
// An IPv4-mapped IPv6 address (::ffff:192.0.2.1, as a dual-stack socket reports IPv4 clients) is
// the IPv4 address. Anything else (a name, '') is used as it is.

const net = require('node:net')

function groupsOf(address) {
  let text = address.replace(/%.*$/, '') // a zone index (fe80::1%eth0) names an interface, not a host
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number)
    text = text.slice(0, v4.index) + (((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16))
  }
  const [head, tail] = text.split('::')
  const split = (s) => (s ? s.split(':') : [])
  const known = [split(head), tail === undefined ? [] : split(tail)]
  const zeros = Array(8 - known[0].length - known[1].length).fill('0')
  return [...known[0], ...zeros, ...known[1]].map((g) => parseInt(g, 16))
}

/** The fair-share key of a client address. */
function addressKey(address) {
  if (!net.isIPv6(address)) return address
  const groups = groupsOf(address)
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff
  if (mapped) return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join('.')
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

module.exports = { addressKey }
