// A bare TCP relay for the benchmark's ceiling: every connection to 127.0.0.1:<listen port> is
// joined to <host>:<port> with stream.pipe both ways, no framing and no multiplexing: the least a
// Node.js process can do to pass bytes on. Prints its pid and "ready" once listening.
//
//   node relay.js <listen port> <host> <port>
'use strict';
const net = require('node:net');

const [listenText, host, portText] = process.argv.slice(2);
const listenPort = Number(listenText);
const port = Number(portText);
if (!Number.isInteger(listenPort) || !host || !Number.isInteger(port)) {
  process.stderr.write('usage: relay.js <listen port> <host> <port>\n');
  process.exit(2);
}

net
  .createServer({ noDelay: true }, (socket) => {
    const onward = net.connect({ host, port, noDelay: true });
    socket.pipe(onward);
    onward.pipe(socket);
    socket.on('error', () => onward.destroy());
    onward.on('error', () => socket.destroy());
  })
  .listen(listenPort, '127.0.0.1', () => process.stdout.write(`${process.pid} ready\n`));
