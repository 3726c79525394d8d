// A second web server on the run's database and build, with settings of its own (TRUST_PROXY, a
// public https URL), and a chain of real reverse proxies (haproxy) in front of a server, for the
// tests that are about what sits between a client and Roster.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { getConfig, loadConfig } from "@roster/config";
import { freePort } from "@roster/config/net";
import { inject } from "vitest";
import { startWebServer, type WebServer } from "../../scripts/server";
import { parseJson } from "./http";

/** Starts a web server with `env` over the run's settings; the caller stops it. */
export async function startExtraServer(env: Record<string, string>): Promise<WebServer> {
  const config = loadConfig({
    ...process.env,
    NODE_ENV: "test",
    AUTH_SECRET: getConfig().authSecret,
    DATABASE_URL: inject("databaseUrl"),
    PORT: String(await freePort()),
    ...env,
  });
  const log = fs.openSync(path.join(inject("artifactsDir"), `server-${config.port}.log`), "w");
  const databaseUrl = env.DATABASE_URL ?? inject("databaseUrl");
  // The variables the web server reads itself (API_ROUTING, SHUTDOWN_DELAY_MS) reach it as given.
  const server = await startWebServer({ config, databaseUrl, output: log, env });
  return {
    ...server,
    async stop(killAfterMs?: number) {
      const code = await server.stop(killAfterMs);
      fs.closeSync(log);
      return code;
    },
  };
}

const haveHaproxy = spawnSync("haproxy", ["-v"], { stdio: "ignore" }).status === 0;

/**
 * True when the proxy-chain tests cannot run here and may be skipped: no haproxy, outside CI. In
 * CI a missing haproxy fails them instead (startProxyChain throws), never a silent skip.
 */
export const skipProxyChainTests = !haveHaproxy && process.env.CI !== "true";

if (skipProxyChainTests) {
  console.warn(
    "\n!!  PROXY-CHAIN TESTS SKIPPED: no haproxy on the PATH (Debian: apt-get install haproxy). TRUST_PROXY behind real proxies was NOT checked.\n",
  );
}

/** The addresses of the chain: the client's, and the two proxies' outgoing ones (all loopback). */
export const CHAIN = { client: "127.0.0.9", first: "127.0.0.2", second: "127.0.0.3" } as const;

/**
 * Two haproxy hops in front of `port`: the client connects to the first (from CHAIN.client), which
 * forwards from CHAIN.first to the second, which forwards from CHAIN.second to the server. Each hop
 * adds the address it received the request from as an X-Forwarded-For header of its own, as
 * haproxy's `option forwardfor` does. Returns the first hop's port and how to stop the chain.
 */
export async function startProxyChain(port: number): Promise<{ port: number; stop(): Promise<void> }> {
  const [front, middle] = [await freePort(), await freePort()];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roster-haproxy-"));
  const config = path.join(dir, "haproxy.cfg");
  fs.writeFileSync(
    config,
    `global
  maxconn 64
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend first
  bind 127.0.0.1:${front}
  option forwardfor
  default_backend to_second
backend to_second
  server second 127.0.0.1:${middle} source ${CHAIN.first}
frontend second
  bind 127.0.0.1:${middle}
  option forwardfor
  default_backend to_roster
backend to_roster
  server roster 127.0.0.1:${port} source ${CHAIN.second}
`,
  );
  const child: ChildProcess = spawn("haproxy", ["-db", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`haproxy exited with code ${child.exitCode}: ${stderr}`);
    }
    const res = await request({ port: front, path: "/api/health", from: CHAIN.client }).catch(() => null);
    if (res?.status === 200) return { port: front, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the haproxy chain did not answer within 10 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * One HTTP request to 127.0.0.1:`port` from the local address `from`. `headers` values that are
 * arrays go out as one header line each (as a chain of proxies sends X-Forwarded-For).
 */
export function request(opts: {
  port: number;
  path: string;
  method?: string;
  from?: string;
  headers?: Record<string, string | string[]>;
  json?: unknown;
}): Promise<HttpAnswer> {
  const body = opts.json === undefined ? undefined : JSON.stringify(opts.json);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: opts.port,
        path: opts.path,
        method: opts.method ?? "GET",
        ...(opts.from ? { localAddress: opts.from } : {}),
        headers: {
          // Node sends a DELETE body with neither a length nor chunks unless told its length.
          ...(body !== undefined
            ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }
            : {}),
          ...opts.headers,
        },
        agent: false,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => {
          const parsed = (parseJson(text) as Record<string, unknown> | undefined) ?? { text };
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
