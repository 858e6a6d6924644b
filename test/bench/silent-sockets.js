// A hostile or broken client for the benchmark's attacks: opens `count` WebSocket connections
// to the sidecar's agent port at once and never says hello on any of them, holds them for
// `hold` ms, then closes what is still open. It runs inside the pod's network namespace, where
// a port-forward's connections come from.
//
//   node silent-sockets.js <ws-url> <count> <hold ms>
//
// Prints one JSON object: how many connections opened (the WebSocket handshake completed), how
// many the sidecar closed before the end and with which close codes, and how many failed.
'use strict';
const WebSocket = require('ws');

const [url, count, hold] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
if (!url || !(count > 0) || !(hold >= 0)) {
  process.stderr.write('usage: silent-sockets.js <ws-url> <count> <hold ms>\n');
  process.exit(2);
}

const result = { opened: 0, closedBySidecar: {}, failed: 0, firstError: undefined };
let holding = true;
const sockets = Array.from({ length: count }, () => {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  let failed = false;
  socket.on('open', () => result.opened++);
  socket.on('close', (code) => {
    if (holding && !failed) result.closedBySidecar[code] = (result.closedBySidecar[code] ?? 0) + 1;
  });
  socket.on('error', (error) => {
    failed = true;
    result.failed++;
    result.firstError ??= error.message;
  });
  return socket;
});

setTimeout(() => {
  holding = false;
  for (const socket of sockets) socket.terminate();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}, hold);
