/**
 * The entry of a sealed gateway build (`vendor seal-gateway`, bundled into DIR/lib): only the
 * gateway's own commands exist, so `DIR/bin/charter-gateway start …` is `charter gateway start …`.
 * The vendor's commands (and their keys) are never part of what the customer runs.
 */
import { attesterJwks } from './commands/attester.ts';
import { gatewayActivate, gatewayStart, licenseInstall, reportExport } from './commands/gateway.ts';
import { dispatch } from './dispatch.ts';

process.exitCode = await dispatch(
  [gatewayStart, gatewayActivate, licenseInstall, reportExport, attesterJwks],
  ['gateway', ...process.argv.slice(2)],
);
// As in bin/charter.js: a command that has returned exits, whatever handle a library left open.
setTimeout(() => process.exit(), 3000).unref();
