// psi_peer.js - the peer benchmark for bench/psi: OpenMined PSI
// (@openmined/psi.js 2.0.6, ECDH over P-256 in WebAssembly) on the same
// workload as bench_psi: N x N keys, half in common, intersection revealed
// to the client.  Both roles run in this one process, one after the other,
// with every message serialized and parsed as it would be on a network.
// Usage: node psi_peer.js N   (prints one line: "openmined n=N wall_s=...")
'use strict'

const PSI = require('@openmined/psi.js')

function keys(n, own) {
  const out = new Array(n)
  for (let i = 0; i < n; i++) {
    const hex = i.toString(16).padStart(15, '0')
    out[i] = (i < n / 2 ? 'c' : own) + hex
  }
  return out
}

;(async () => {
  const n = parseInt(process.argv[2], 10)
  if (!(n > 0)) {
    console.error('usage: node psi_peer.js N')
    process.exit(2)
  }
  const psi = await PSI()
  const fpr = 1e-9
  const clientInputs = keys(n, 'r')
  const serverInputs = keys(n, 's')
  const t0 = process.hrtime.bigint()
  const server = psi.server.createWithNewKey(true)
  const client = psi.client.createWithNewKey(true)
  const setup = server.createSetupMessage(fpr, n, serverInputs).serializeBinary()
  const request = client.createRequest(clientInputs).serializeBinary()
  const response = server
    .processRequest(psi.request.deserializeBinary(request))
    .serializeBinary()
  const intersection = client.getIntersection(
    psi.serverSetup.deserializeBinary(setup),
    psi.response.deserializeBinary(response)
  )
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  const bytes = setup.length + request.length + response.length
  console.log(
    `openmined n=${n} wall_s=${wall.toFixed(3)} intersection=${intersection.length} ` +
      `expected=${Math.floor(n / 2)} bytes=${bytes} threads=1`
  )
  server.delete()
  client.delete()
})()
