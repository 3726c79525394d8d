// A command run to its end as a child process, its output collected: the command-line tools, the
// example scripts and the project's entry points, as a developer runs them.
import { spawn } from "node:child_process";
import { repoRoot } from "@roster/config";

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` with `args` (in the repository unless told otherwise) and resolves once it has exited. */
export function runCommand(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd ?? repoRoot(),
      ...(opts.env ? { env: opts.env } : {}),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
