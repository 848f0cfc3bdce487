import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev` proxies /api/copilotkit to the runtime (npm start in the repo root listens on 4000);
// COPILOTKIT_RUNTIME_ORIGIN points it elsewhere. A build talks to VITE_COPILOTKIT_RUNTIME_URL
// (default /api/copilotkit: serve the built files from the runtime's origin, or behind one proxy).
const runtimeOrigin = process.env.COPILOTKIT_RUNTIME_ORIGIN ?? 'http://localhost:4000';

export default defineConfig({
  plugins: [react()],
  // CopilotKit's markdown renderer brings syntax highlighting and diagrams: a big bundle is expected.
  build: { chunkSizeWarningLimit: 5000 },
  server: {
    port: Number(process.env.PORT ?? 5173),
    proxy: {
      '/api/copilotkit': { target: runtimeOrigin, changeOrigin: true },
    },
  },
  preview: {
    proxy: {
      '/api/copilotkit': { target: runtimeOrigin, changeOrigin: true },
    },
  },
});
