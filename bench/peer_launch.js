// Starts fake-shelly's HTTP server (its own http-server.js and device code, unchanged) on one
// address and port instead of 0.0.0.0:80, and without its CoAP server (which would multicast):
// the peer for bench/peer.py. Usage: node peer_launch.js FAKE_SHELLY_DIR HOST PORT [MODEL]
'use strict'
const path = require('path')
const [dir, host, port, model = 'SHSW-1'] = process.argv.slice(2)
// The restify fake-shelly itself loads (nested or hoisted, as npm placed it).
const restify = require(require.resolve('restify', { paths: [dir] }))
const createServer = restify.createServer
restify.createServer = (options) => {
  const server = createServer(options)
  const listen = server.listen.bind(server)
  server.listen = (_port, callback) => listen(Number(port), host, callback)
  return server
}
const HttpServer = require(path.join(dir, 'http-server'))
const { createDevice } = require(path.join(dir, 'devices'))
new HttpServer(createDevice(model, 'ABC123'))
  .start()
  .then(() => process.stderr.write(`ready http://${host}:${port}\n`))
  .catch((error) => {
    process.stderr.write(`failed: ${error}\n`)
    process.exit(1)
  })
