/**
 * `@charter/gateway/express` — library mode for Node's http server, Express and Connect, written
 * against node:http types only. Loads no framework and no store driver.
 */
export { type CharterIncomingMessage, charterMiddleware } from '../middleware.ts';
