// Preloaded into the web server by bench/cpu.ts (NODE_OPTIONS=--require, which refuses
// --cpu-prof): runs the process under V8's CPU profiler and writes a .cpuprofile into
// ROSTER_CPU_PROFILE_DIR when the process exits. Bench use only.
const fs = require("node:fs");
const path = require("node:path");
const inspector = require("node:inspector");

const dir = process.env.ROSTER_CPU_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 200 });
  session.post("Profiler.start");
  process.on("exit", () => {
    // A session in the process's own thread answers synchronously.
    session.post("Profiler.stop", (err, res) => {
      if (err) return;
      fs.writeFileSync(path.join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
