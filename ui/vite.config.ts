import { defineConfig } from "vite";

// Tauri serves ui/dist in the window; `npm run dev` serves the same files on
// 127.0.0.1:5173 for `tauri dev`.
export default defineConfig({
  clearScreen: false,
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  build: { outDir: "dist", target: "safari15", sourcemap: false, emptyOutDir: true },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
