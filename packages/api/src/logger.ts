import { getConfig } from "@roster/config";
import pino, { type Logger } from "pino";

// One structured JSON line per request (see http/log.ts). Tokens and cookies are never passed
// to the logger; the redaction below is a second line of defence. Created on first use, so that
// importing this module (as `next build` does) reads no configuration.
let instance: Logger | undefined;

export function getLogger(): Logger {
  instance ??= pino({
    level: getConfig().logLevel,
    base: { service: "roster" },
    redact: { paths: ["*.authorization", "*.cookie", "*.token", "*.accessToken", "*.password"], censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  return instance;
}
