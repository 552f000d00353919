/**
 * @charter/console — the gateway's on-prem admin console: the Fastify plugin mounted at
 * /charter/admin (SPA + JSON API), its operator accounts in the gateway store, and a stand-alone
 * server for a separate admin port.
 */
export {
  type AdminRow,
  AuditView,
  type InstanceRow,
  type RefusalRow,
  verifyWholeChain,
} from './audit-view.ts';
export {
  addOperator,
  auditAdmin,
  consoleAccounts,
  GatewayAccountStorage,
  hasOperators,
  listOperators,
  OPERATORS_STATE,
  type Operator,
  type OperatorRecord,
  SESSIONS_STATE,
} from './operators.ts';
export { CONSOLE_PREFIX, type ConsoleOptions, charterConsole, MAX_LICENSE_BYTES } from './plugin.ts';
export { type RunningConsole, startConsoleServer } from './server.ts';
export {
  type AppSeries,
  BUCKET_S,
  BUCKETS,
  sumTrafficWindows,
  TrafficSeries,
  type TrafficWindow,
} from './traffic.ts';
