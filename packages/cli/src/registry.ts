/** Every command of the `charter` executable, in help order. */
import type { CommandSpec } from './command.ts';
import { attestVerify } from './commands/attest.ts';
import { gatewayStart, licenseInstall } from './commands/gateway.ts';
import { licenseInspect } from './commands/license.ts';
import { vendorCommands } from './commands/vendor.ts';

/** The command table main.ts searches. */
export const commands: CommandSpec[] = [
  ...vendorCommands,
  gatewayStart,
  licenseInstall,
  licenseInspect,
  attestVerify,
];
