// he_peer.js - the peer benchmark for bench/he: the npm package
// paillier-bigint (JS BigInt) at the same key size, on the same machine.
// Times encryption, decryption (its CRT path when the key has p and q) and
// ct + ct per operation, checking every result against the plaintext.
// Usage: node he_peer.js BITS   (one "bench he peer=paillier-bigint ..." line per op)
'use strict'

const paillier = require('paillier-bigint')

function perOpUs (reps, fn) {
  const t0 = process.hrtime.bigint()
  const c0 = process.cpuUsage()
  for (let i = 0; i < reps; i++) fn(i)
  const wall = Number(process.hrtime.bigint() - t0) / 1e3 / reps
  const cpu = process.cpuUsage(c0)
  return { us: (cpu.user + cpu.system) / reps, wall }
}

;(async () => {
  const bits = parseInt(process.argv[2] || '2048', 10)
  const { publicKey, privateKey } = await paillier.generateRandomKeys(bits)
  const m = 123456789012345678901234567890n
  let c = publicKey.encrypt(m)
  const out = []
  out.push(['encrypt', perOpUs(40, () => { c = publicKey.encrypt(m) })])
  if (privateKey.decrypt(c) !== m) throw new Error('paillier-bigint: wrong decryption')
  let d
  out.push(['decrypt', perOpUs(40, () => { d = privateKey.decrypt(c) })])
  if (d !== m) throw new Error('paillier-bigint: wrong decryption')
  let acc = c
  out.push(['add', perOpUs(20000, () => { acc = publicKey.addition(acc, c) })])
  if (privateKey.decrypt(acc) !== m * 20001n % publicKey.n) throw new Error('paillier-bigint: wrong sum')
  for (const [op, t] of out) {
    console.log(`bench he peer=paillier-bigint op=${op} bits=${bits} us=${t.us.toFixed(2)} wall_us=${t.wall.toFixed(2)}`)
  }
})().catch((e) => { console.error(e); process.exit(1) })
