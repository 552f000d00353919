/**
 * The soak's load balancer: round-robin over TCP, one public address in front of the replicas, as a
 * plain L4 balancer would be. A backend that refuses the connection (killed, not yet restarted) is
 * skipped for that connection, as a balancer's health check would skip it; connections already
 * relayed to a backend that dies are cut, as they would be in production.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A backend address. */
export interface Backend {
  host: string;
  port: number;
}

/** A round-robin TCP balancer listening on 127.0.0.1:`port`. */
export class Balancer {
  readonly port: number;
  readonly #backends: Backend[];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #next = 0;

  private constructor(port: number, backends: Backend[], server: Server) {
    this.port = port;
    this.#backends = backends;
    this.#server = server;
  }

  static async start(port: number, backends: Backend[]): Promise<Balancer> {
    const server = createServer();
    const b = new Balancer(port, backends, server);
    server.on('connection', (client) => b.#relay(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    return b;
  }

  /** Try each backend once, starting with the next in turn. */
  #relay(client: Socket): void {
    this.#track(client);
    client.pause();
    const start = this.#next++ % this.#backends.length;
    const attempt = (i: number): void => {
      if (i >= this.#backends.length || client.destroyed) {
        client.destroy();
        return;
      }
      const b = this.#backends[(start + i) % this.#backends.length] as Backend;
      const upstream = connect(b.port, b.host);
      let connected = false;
      upstream.on('error', () => {
        // Refused before it connected: that backend is down, try the next one.
        if (!connected) attempt(i + 1);
        else client.destroy();
      });
      upstream.once('connect', () => {
        connected = true;
        this.#track(upstream);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    client.on('error', () => client.destroy());
    attempt(0);
  }

  #track(s: Socket): void {
    this.#sockets.add(s);
    s.on('close', () => this.#sockets.delete(s));
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
