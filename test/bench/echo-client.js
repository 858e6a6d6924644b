// Bulk TCP client for the benchmark's baseline: connects to an echo service, writes `bytes`
// in `chunk`-sized writes (respecting backpressure) while reading the echo back, and reports
// the time from connected to the last echoed byte.
//
//   node echo-client.js <host> <port> <bytes> [chunk]
//
// Prints one JSON object: { bytes, seconds, mbPerSecond } (MB = 2^20 bytes, counted one way).
'use strict';
const net = require('node:net');

const [host, portText, bytesText, chunkText] = process.argv.slice(2);
const port = Number(portText);
const total = Math.min(Number(bytesText), 1024 * 1024 * 1024);
const chunkSize = Number(chunkText || 64 * 1024);
if (!host || !Number.isInteger(port) || !(total > 0) || !(chunkSize > 0)) {
  process.stderr.write('usage: echo-client.js <host> <port> <bytes> [chunk]\n');
  process.exit(2);
}

const chunk = Buffer.alloc(chunkSize, 0x61);
const timeout = setTimeout(() => {
  process.stderr.write('echo-client: timed out after 60 s\n');
  process.exit(3);
}, 60_000);

const socket = net.connect({ host, port, noDelay: true }, () => {
  // For a caller that counts CPU from here on (this client under mirrord: the start-up is counted apart).
  if (process.env.ECHO_CLIENT_ANNOUNCE) process.stderr.write('connected\n');
  const started = process.hrtime.bigint();
  let sent = 0;
  let received = 0;
  socket.on('data', (data) => {
    received += data.length;
    if (received >= total) {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      clearTimeout(timeout);
      process.stdout.write(`${JSON.stringify({ bytes: received, seconds, mbPerSecond: received / 1048576 / seconds })}\n`);
      socket.destroy();
    }
  });
  const pump = () => {
    while (sent < total) {
      const size = Math.min(chunkSize, total - sent);
      sent += size;
      if (!socket.write(size === chunkSize ? chunk : chunk.subarray(0, size))) return void socket.once('drain', pump);
    }
  };
  pump();
});
socket.on('error', (error) => {
  process.stderr.write(`echo-client: ${error.message}\n`);
  process.exit(1);
});
