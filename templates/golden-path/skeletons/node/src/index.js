'use strict';
// ${{ values.name }}: ${{ values.description }}
const http = require('node:http');

function createServer() {
  return http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ service: '${{ values.name }}', environment: process.env.ENVIRONMENT ?? 'local' }));
  });
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 8080);
  createServer().listen(port, () => console.log(`${{ values.name }} listening on ${port}`));
}

module.exports = { createServer };
