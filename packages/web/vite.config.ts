// For `npx vite portal` during development; builds go through src/build.ts (the same settings).
import { defineConfig } from 'vite';
import { viteConfig } from './src/build.ts';

export default defineConfig(viteConfig('portal'));
