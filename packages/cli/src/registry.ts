/** Every command of the `charter` executable, in help order. */
import type { CommandSpec } from './command.ts';
import { attestVerify } from './commands/attest.ts';
import { attesterJwks } from './commands/attester.ts';
import { gatewayUserAdd } from './commands/console.ts';
import { gatewayActivate, gatewayStart, licenseInstall, reportExport } from './commands/gateway.ts';
import { licenseInspect } from './commands/license.ts';
import { portalCommands } from './commands/portal.ts';
import { sealGateway } from './commands/seal.ts';
import { vendorCommands } from './commands/vendor.ts';
import { attesterServe } from './commands/vendor-attester.ts';

/** The command table main.ts searches. */
export const commands: CommandSpec[] = [
  ...vendorCommands,
  attesterServe,
  ...portalCommands,
  sealGateway,
  gatewayStart,
  gatewayActivate,
  licenseInstall,
  reportExport,
  attesterJwks,
  gatewayUserAdd,
  licenseInspect,
  attestVerify,
];
