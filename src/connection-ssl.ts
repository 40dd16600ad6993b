// sslmode=prefer (libpq's default) on one connection, as libpq does it: ask for SSL, and when the
// server answers 'N' go on over the same socket without it. node-postgres treats 'N' as an error,
// so the retry without SSL used to cost a second TCP connection and a second backend start (5-9 ms
// of every check over TCP here: bench/full-check.ts). The socket handed to node-postgres is then
// already negotiated, and node-postgres is told to use no SSL of its own.
import { builtin } from './builtin.js';
import net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { parseAddress } from './connection-diagnosis/ip.js';

/** The SSLRequest message: length 8, then the code 1234.5679. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * A TCP connection to host:port, upgraded to TLS with `tlsOptions` if the server agrees to SSL,
 * else left plain. Fails as node-postgres would: with the socket's own error, or its timeout
 * message, so that connection-errors.ts diagnoses both alike.
 */
export function negotiatePreferred(host: string, port: number, tlsOptions: ConnectionOptions, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    // Keepalives from the start, as node-postgres sets them (keepAlive: true in connection.ts).
    socket.setKeepAlive(true, 0);
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('Connection terminated due to connection timeout')), timeoutMs);
    socket.once('error', fail);
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (answer) => {
      if (answer.length !== 1 || (answer[0] !== 0x53 /* S */ && answer[0] !== 0x4e) /* N */) {
        fail(new Error('There was an error establishing an SSL connection'));
        return;
      }
      if (answer[0] === 0x4e) {
        // Not paused: nothing comes before the startup message, and a socket paused by hand
        // would stay paused when node-postgres starts listening.
        done(socket);
        return;
      }
      // Errors of the TCP socket come out of the TLS socket that takes it over.
      socket.on('error', () => undefined);
      // A server without SSL never needs tls.
      const tls = builtin('node:tls');
      // SNI must not name an IP address (RFC 6066), as node-postgres's own upgrade has it.
      const secure = tls.connect({ ...tlsOptions, socket, host, ...(parseAddress(host) ? {} : { servername: host }) });
      secure.once('error', fail);
      secure.once('secureConnect', () => {
        secure.removeListener('error', fail);
        done(secure);
      });
    });
    const done = (ready: net.Socket) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', fail);
      // Until node-postgres attaches its own listener (a few ticks later), an error would have none
      // and end the process; node-postgres still hears of it.
      ready.on('error', () => undefined);
      resolve(ready);
    };
  });
}

/**
 * `socket`, made to look unconnected to node-postgres: its Connection calls connect() and waits
 * for 'connect' before it sends the startup message.
 */
export function asPreconnected(socket: net.Socket): net.Socket {
  socket.connect = function connectAlreadyDone(this: net.Socket) {
    process.nextTick(() => this.emit('connect'));
    return this;
  } as typeof socket.connect;
  return socket;
}
