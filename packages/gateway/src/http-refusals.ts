/**
 * The catalogue's answers to what node's HTTP server refuses before any route runs, for every
 * listener the gateway opens (the public one and the operations listener, one process or the
 * workers' supervisor): node's own answers carry no catalogued code (a bare 417, Fastify's
 * `{"error":"Request Header Fields Too Large"}`), and a socket destroyed without `Connection: close`
 * resets the next keep-alive request a client sends on it.
 */
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { CharterError } from '@charter/core/errors';
import { refusalReply } from './reply.ts';

/**
 * Fastify's `clientErrorHandler`: `invalid_request` for anything node's HTTP parser refuses (huge or
 * garbled headers), with `Charter-Refusal` and `Connection: close`. A HEAD request gets the status
 * line and headers only: a body after them would be read by the client as the start of a next
 * response (node's client fails with "Data after `Connection: close`"). The method is read from the
 * refused bytes (`rawPacket`, the chunk the parser failed in): a request refused in a later chunk
 * than its first gets the body, as before.
 */
export function refuseUnparseable(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  // The headers of every other refusal (refusalReply: the media type, Charter-Refusal, no-store).
  const reply = refusalReply(new CharterError('invalid_request', 'ERR_HTTP_PARSE', 'unparseable request'));
  const body = JSON.stringify(reply.body);
  const raw = (err as { rawPacket?: unknown }).rawPacket;
  // Empty lines before the request line are allowed (RFC 9112 §2.2), and node's parser skips them.
  const head = Buffer.isBuffer(raw) && /^[\r\n]*HEAD /.test(raw.subarray(0, 64).toString('latin1'));
  let lines = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status]}\r\n`;
  for (const [name, value] of Object.entries(reply.headers)) lines += `${name}: ${value}\r\n`;
  socket.end(
    `${lines}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${head ? '' : body}`,
  );
}

/**
 * For the server's `checkExpectation` event: a request whose `Expect` is not `100-continue`, which
 * node would answer with a bare 417 (no code of the catalogue) before any handler ran, is refused as
 * `invalid_request`, as RFC 9110 §10.1.1 lets it (the 417 is a MAY).
 */
export function refuseExpectation(res: ServerResponse): void {
  const reply = refusalReply(
    new CharterError('invalid_request', 'ERR_HTTP_EXPECT', 'unsupported Expect header'),
  );
  const body = JSON.stringify(reply.body);
  res
    .writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(body)) })
    .end(body);
}
