import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The REST contract matches a trailing slash instead of redirecting it.
  skipTrailingSlashRedirect: true,
  // Internal packages are consumed as TypeScript source.
  transpilePackages: ["@roster/api", "@roster/contract", "@roster/config", "@roster/db"],
  // Native, WebAssembly and driver packages load from node_modules at run time. So do the rate
  // limiter and its Redis client: Next bundles the app's own code once for the API routes and
  // once for the pages, and the counters both share must answer with one class of result.
  serverExternalPackages: [
    "rate-limiter-flexible",
    "ioredis",
    "pg",
    "@prisma/adapter-pg",
    "@prisma/client",
    "@electric-sql/pglite",
    "@electric-sql/pglite-socket",
    "pglite-prisma-adapter",
    "@node-rs/argon2",
    "pino",
    "pino-pretty",
    "prom-client",
  ],
  // The build checks the app's own sources; tests and scripts are checked by `npm run typecheck`.
  typescript: { ignoreBuildErrors: false, tsconfigPath: "tsconfig.build.json" },
};

export default nextConfig;
