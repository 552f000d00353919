/** Where the console's API lives (the console is served under the gateway's reserved prefix). */
export const API = '/charter/admin/api';
