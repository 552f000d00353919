/** Reading a request body from a node stream with a hard size limit, for the middleware. */
import type { IncomingMessage } from 'node:http';
import { CharterError } from '@charter/core';

/**
 * The body of `req` as a Buffer, refusing with `invalid_request` once more than `limit` bytes have
 * arrived (declared or not) rather than buffering whatever a client sends.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new CharterError('invalid_request', 'ERR_BODY_SIZE', 'the body is too large'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(new CharterError('invalid_request', 'ERR_BODY_SIZE', 'the body is too large'));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', () =>
      reject(new CharterError('invalid_request', 'ERR_BODY_READ', 'the body could not be read')),
    );
  });
}
