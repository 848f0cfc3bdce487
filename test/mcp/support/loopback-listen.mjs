// Preloaded (`node --import`) into an MCP server under test that binds a port of its own choosing
// on every interface (server-everything's HTTP transports: `app.listen(PORT)`): the listen is
// moved to 127.0.0.1, and the port actually bound (PORT=0 for a random one) is announced on
// stderr as `LISTENING <port>`, for the test to read.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    args[0] = Number(args[0]);
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  }
  this.once('listening', () => process.stderr.write(`LISTENING ${this.address().port}\n`));
  return listen.apply(this, args);
};
