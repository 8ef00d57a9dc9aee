import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The web console: built into dist/web, which the Mops server serves at `/`. */
export default defineConfig({
  root: path.join(import.meta.dirname, 'web'),
  plugins: [react()],
  build: {
    outDir: path.join(import.meta.dirname, 'dist/web'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  // `npm run dev:web` beside `npm run dev`: the console on :5173, the API proxied to the server.
  server: {
    proxy: { '/api': 'http://127.0.0.1:3000', '/v1': 'http://127.0.0.1:3000' },
  },
});
