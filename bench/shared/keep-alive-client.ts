/**
 * A minimal HTTP/1.1 client for load generators: a fixed set of keep-alive sockets, one request in
 * flight on each, responses read by their Content-Length. It does a fraction of the work of
 * node:http's client (no header objects, no streams per response), so a benchmark's load
 * generator takes less of the CPU the system under test shares with it — the role wrk or h2load
 * play elsewhere. Only what the benchmarks need: no chunked responses, no redirects.
 */
import { connect, type Socket } from 'node:net';

export interface HttpResponse {
  status: number;
  body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

class Connection {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: HttpResponse) => void; reject: (e: Error) => void } | undefined;
  private failed: Error | undefined;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  send(request: Buffer): Promise<HttpResponse> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.waiting) return Promise.reject(new Error('a request is already in flight on this connection'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.failed ??= new Error('closed');
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headerEnd = this.buffered.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = this.buffered.toString('latin1', 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) return this.fail(new Error(`a response without Content-Length: ${head.split('\r\n')[0]}`));
    const bodyStart = headerEnd + HEADER_END.length;
    const bodyEnd = bodyStart + Number(length[1]);
    if (this.buffered.length < bodyEnd) return;
    const body = this.buffered.toString('utf8', bodyStart, bodyEnd);
    this.buffered = this.buffered.subarray(bodyEnd);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve({ status, body });
  }

  private fail(error: Error): void {
    this.failed ??= error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }
}

/** Keep-alive connections to one server; `request` waits for an idle one. */
export class KeepAliveClient {
  private readonly idle: Connection[] = [];
  private readonly all: Connection[] = [];
  private readonly queue: Array<(c: Connection) => void> = [];

  constructor(host: string, port: number, connections: number) {
    for (let i = 0; i < connections; i++) {
      const c = new Connection(host, port);
      this.all.push(c);
      this.idle.push(c);
    }
  }

  /** Sends a whole request (head and body, already encoded). */
  async request(raw: Buffer): Promise<HttpResponse> {
    const connection = this.idle.pop() ?? (await new Promise<Connection>((r) => this.queue.push(r)));
    try {
      return await connection.send(raw);
    } finally {
      const next = this.queue.shift();
      if (next) next(connection);
      else this.idle.push(connection);
    }
  }

  close(): void {
    for (const c of this.all) c.close();
  }
}

/** A request as bytes: `POST /path` with the given headers and a JSON body. */
export function encodeRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Buffer {
  const bytes = Buffer.from(body);
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', `content-length: ${bytes.length}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]);
}
