import { type Config, getConfig } from "@roster/config";
import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";

// One line per request (see http/log.ts): JSON for whatever collects the output, or a readable
// line (time, method, path, status, ms, reqId) for a person at a terminal; LOG_FORMAT picks, and
// by default stdout being a terminal does. Tokens and cookies are never passed to the logger; the
// redaction below is a second line of defence. Created on first use, so that importing this
// module (as `next build` does) reads no configuration.
let instance: Logger | undefined;

export function getLogger(): Logger {
  instance ??= createLogger(getConfig());
  return instance;
}

const REDACTED = ["authorization", "cookie", "token", "accessToken", "password", "clientSecret"];

// Fields the readable line shows in its message, or not at all.
const SHOWN = ["reqId", "method", "route", "path", "status", "durationMs", "callerId"];

/** A logger of the given level and format, writing to `destination` (default stdout). */
export function createLogger(
  opts: Pick<Config, "logLevel" | "logFormat">,
  destination: DestinationStream | NodeJS.WritableStream = process.stdout,
): Logger {
  const options = {
    level: opts.logLevel,
    base: { service: "roster" },
    redact: { paths: REDACTED.flatMap((key) => [key, `*.${key}`]), censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.logFormat === "json") {
    return destination === process.stdout ? pino(options) : pino(options, destination as DestinationStream);
  }
  const stream = pretty({
    destination,
    sync: true,
    colorize: destination === process.stdout && process.stdout.isTTY === true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: ["pid", "hostname", "service", ...SHOWN].join(","),
    // a request: "GET /api/v2/... 200 12.3ms req-…"; anything else: its message
    messageFormat: (log, messageKey) => {
      if (typeof log.method !== "string" || typeof log.status !== "number") return String(log[messageKey] ?? "");
      const where = typeof log.path === "string" ? log.path : String(log.route ?? "");
      return `${log.method} ${where} ${log.status} ${String(log.durationMs)}ms ${String(log.reqId ?? "")}`;
    },
    singleLine: true,
  });
  return pino(options, stream);
}
