// Preloaded into the bench's web servers (NODE_OPTIONS=--expose-gc --require): a full garbage
// collection on SIGUSR2, so that the soak reads the memory the server holds on to rather than
// whatever garbage V8 has not yet chosen to collect. Bench use only.
if (typeof global.gc === "function") {
  const collect = global.gc;
  process.on("SIGUSR2", () => collect());
}
