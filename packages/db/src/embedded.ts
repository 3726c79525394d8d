// The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in a data folder.
//
// PGlite is one process, one session. Two processes opening the same folder corrupt it, and
// pglite-socket's own multiplexer interleaves the extended-protocol messages of different
// clients (one client's Parse can land between another's Parse and Bind). So exactly one
// process owns a folder: it opens PGlite and serves it on a loopback port, giving each client
// the whole session from its first message until it is back at a sync point outside a
// transaction. Every Prisma client, the owner's included, connects through that port with the
// ordinary `pg` driver, so the embedded database behaves like a small PostgreSQL server.
// The owner records itself in `<dir>.lock` (pid and URL); other processes find it there.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketHandler } from "@electric-sql/pglite-socket";
import { pgliteExtensions } from "./pglite-extensions";

interface Pending {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (err: Error) => void;
}

const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'

/**
 * Serialises the clients of one PGlite instance by session: the client that sent the message
 * being run keeps the database until it reaches a sync point (Sync, a simple Query, Terminate
 * or its start-up message) with no transaction open.
 */
class SessionQueue {
  private queue: Pending[] = [];
  private owner: number | null = null;
  private running = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.run();
    });
  }

  private next(): Pending | undefined {
    const index = this.owner === null ? 0 : this.queue.findIndex((p) => p.handlerId === this.owner);
    return index === -1 ? undefined : this.queue.splice(index, 1)[0];
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let item = this.next(); item; item = this.next()) {
        this.owner = item.handlerId;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (err) {
          item.reject(err instanceof Error ? err : new Error(String(err)));
          continue;
        }
        const type = item.message[0];
        const syncPoint = type === SYNC || type === QUERY || type === TERMINATE || type === 0;
        if (syncPoint && !this.db.isInTransaction()) this.owner = null;
        item.resolve(bytes);
      }
    } finally {
      this.running = false;
    }
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.queue = this.queue.filter((p) => {
      if (p.handlerId !== handlerId) return true;
      p.reject(new Error("client disconnected"));
      return false;
    });
  }

  /** A client that left mid-transaction gets its transaction rolled back and the session freed. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    if (this.db.isInTransaction()) await this.db.exec("ROLLBACK");
    this.owner = null;
    void this.run();
  }
}

export interface EmbeddedServer {
  url: string;
  db: PGlite;
  close(): Promise<void>;
}

export interface EmbeddedLock {
  pid: number;
  url: string;
}

export function lockPath(dir: string): string {
  return `${path.resolve(dir)}.lock`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The live owner of an embedded database folder, if any (a stale lock is ignored). */
export function readLock(dir: string): EmbeddedLock | undefined {
  try {
    const lock = JSON.parse(fs.readFileSync(lockPath(dir), "utf8")) as EmbeddedLock;
    return typeof lock.pid === "number" && typeof lock.url === "string" && alive(lock.pid) ? lock : undefined;
  } catch {
    return undefined;
  }
}

function takeLock(dir: string): void {
  const file = lockPath(dir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid, url: "" }), { flag: "wx", mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const current = (() => {
        try {
          return JSON.parse(fs.readFileSync(file, "utf8")) as EmbeddedLock;
        } catch {
          return undefined;
        }
      })();
      if (current && alive(current.pid) && current.pid !== process.pid) {
        throw new Error(`The embedded database ${dir} is in use by process ${current.pid}`);
      }
      fs.rmSync(file, { force: true }); // stale: its owner is gone
    }
  }
  throw new Error(`Could not take the lock ${file}`);
}

/**
 * Opens the folder (creating it when new), serves it on 127.0.0.1 (an ephemeral port unless
 * `port` is given) and records the owner lock. `dir` may be `memory://` for a throwaway database
 * (no lock then).
 */
export async function startEmbeddedServer(dir: string, opts: { port?: number } = {}): Promise<EmbeddedServer> {
  const inMemory = dir.startsWith("memory://");
  if (!inMemory) {
    fs.mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
    takeLock(dir);
  }
  let db: PGlite;
  try {
    db = await PGlite.create(inMemory ? dir : path.resolve(dir), { extensions: pgliteExtensions });
  } catch (err) {
    if (!inMemory) fs.rmSync(lockPath(dir), { force: true });
    throw err;
  }
  const queue = new SessionQueue(db);
  const handlers = new Set<PGLiteSocketHandler>();
  const server = net.createServer((socket) => {
    const handler = new PGLiteSocketHandler({
      queryQueue: queue as unknown as ConstructorParameters<typeof PGLiteSocketHandler>[0]["queryQueue"],
      closeOnDetach: true,
    });
    handlers.add(handler);
    const forget = () => handlers.delete(handler);
    handler.addEventListener("close", forget);
    handler.addEventListener("error", forget);
    handler.attach(socket).catch(() => {
      forget();
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  if (!inMemory) fs.writeFileSync(lockPath(dir), JSON.stringify({ pid: process.pid, url } satisfies EmbeddedLock));

  let closed = false;
  return {
    url,
    db,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...handlers].map((h) => h.detach(true)));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.close();
      if (!inMemory) {
        const lock = readLock(dir);
        if (!lock || lock.pid === process.pid) fs.rmSync(lockPath(dir), { force: true });
      }
    },
  };
}
