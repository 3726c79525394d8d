// A free local port, for whatever starts a server of its own: the test harnesses, the deployment
// harness and the bench. Here, at the bottom of the workspace, so every package and app can import it.
import net from "node:net";

/** A TCP port nobody listens on right now (on 127.0.0.1). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
