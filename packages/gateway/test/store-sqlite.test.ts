/** The store contract against SQLite: two handles on one file play two replicas. */
import { join } from 'node:path';
import type { GatewayStore } from '@charter/gateway';
import { SqliteStore } from '@charter/gateway/sqlite';
import { tempDir } from './helpers.ts';
import { storeContract } from './store-contract.ts';

storeContract('SQLite', async () => {
  const t = tempDir();
  const opened: GatewayStore[] = [];
  return {
    async open() {
      const s = new SqliteStore(join(t.dir, 'gateway.db'));
      opened.push(s);
      return s;
    },
    async cleanup() {
      for (const s of opened) await s.close();
      t.remove();
    },
  };
});
