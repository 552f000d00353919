/** The gateway's version, written into activation requests and build manifests. */
export const GATEWAY_VERSION = '0.1.0';
