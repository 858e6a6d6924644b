// The "local copy" of the demo's shop: what a developer would run from their editor. It
// listens on the shop's port and, for every request, asks the inventory Service — a name that
// only resolves, and an address that is only reachable, inside the cluster.
const http = require('node:http');

http
  .createServer((req, res) => {
    http
      .get('http://inventory/stock', (inventory) => {
        let body = '';
        inventory.on('data', (chunk) => (body += chunk));
        inventory.on('end', () => res.end(`hello from your laptop (${req.method} ${req.url}); inventory answered: ${body.trim()}\n`));
      })
      .on('error', (error) => res.end(`hello from your laptop; inventory failed: ${error.message}\n`));
  })
  .listen(8080, () => console.log('local shop listening on 8080'));
