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
//
// The port is reachable by every local user, and PGlite itself asks for no password. So each
// start draws a random password, written only into the URL of the lock file (mode 0600, so only
// the owner's user can read it), and every connection must answer an md5 password challenge
// before its start-up message reaches PGlite. And since the database serves one session at a
// time, a session that holds it while idle (a transaction left open) is cut after
// IDLE_IN_TRANSACTION_TIMEOUT_MS, like PostgreSQL's idle_in_transaction_session_timeout:
// its transaction is rolled back, its connection closed, and the next client served.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketHandler } from "@electric-sql/pglite-socket";
import { MAINTENANCE_INTERVAL_MS, type MaintenanceReport, scheduleMaintenance } from "./embedded-maintenance";
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
const PARSE = 0x50; // 'P'
const CLOSE = 0x43; // 'C'
const PARSE_COMPLETE = 0x31; // '1'
const SYNC_MESSAGE = new Uint8Array([SYNC, 0, 0, 0, 4]);
const PARSE_COMPLETE_MESSAGE = new Uint8Array([PARSE_COMPLETE, 0, 0, 0, 4]);

/**
 * The names of prepared statements whose name says what they hold: the application names a
 * marked statement by a hash of its text (@roster/db's preparedName), so one name is one text.
 */
const SHARED_NAME = /^roster_[0-9a-f]{24}$/;
/** The most shared names kept (an application has a few); past it a Parse reaches PGlite as any other. */
export const MAX_SHARED_NAMES = 1024;

/** The statement name of a Parse message (its first field), or null when the message is not one. */
function parsedName(message: Uint8Array): string | null {
  if (message[0] !== PARSE) return null;
  const end = message.indexOf(0, 5);
  return end === -1 ? null : Buffer.from(message.buffer, message.byteOffset + 5, end - 5).toString("utf8");
}

/** The statement name of a Close message that closes a prepared statement ('S'), else null. */
function closedName(message: Uint8Array): string | null {
  if (message[0] !== CLOSE || message[5] !== 0x53) return null;
  const end = message.indexOf(0, 6);
  return end === -1 ? null : Buffer.from(message.buffer, message.byteOffset + 6, end - 6).toString("utf8");
}

/** How long a client may hold the session while sending nothing (a transaction left open, say). */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 5_000;
/** How long a new connection has to authenticate (PostgreSQL's authentication_timeout is 60 s). */
export const AUTHENTICATION_TIMEOUT_MS = 10_000;

/**
 * Serialises the clients of one PGlite instance by session: the client that sent the message
 * being run keeps the database until it reaches a sync point (Sync, a simple Query, Terminate
 * or its start-up message) with no transaction open. A client that keeps it longer than
 * `idleTimeoutMs` without sending anything loses it: see `cut`.
 */
class SessionQueue {
  private queue: Pending[] = [];
  private owner: number | null = null;
  private running = false;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Clients whose session was cut: whatever they still send is refused. */
  private readonly cutOff = new Set<number>();
  /**
   * Prepared statements every client shares. All clients run on one session, so a statement one
   * client prepared exists for the next, and its Parse would fail ("already exists"). A Parse
   * of a name in this set (SHARED_NAME only) is answered ParseComplete here without reaching PGlite:
   * each pool connection of each process can prepare the statements every request sends, and
   * PGlite parses and plans them once (a 1-id removal's statement 3.25 → 0.89 ms in PGlite).
   * (Like every session setting here, a DEALLOCATE or DISCARD by one client would reach them all:
   * Roster sends neither.)
   */
  private readonly prepared = new Set<string>();
  /** Clients whose last message was a sync point (a Parse right after one is never in a failed exchange). */
  private readonly atSync = new Set<number>();

  constructor(
    private readonly db: PGlite,
    private readonly idleTimeoutMs: number,
    private readonly onCut: (handlerId: number) => void,
  ) {}

  /** When a client last sent a message (performance.now()). */
  lastMessageAt = 0;

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    this.lastMessageAt = performance.now();
    return new Promise((resolve, reject) => {
      if (this.cutOff.has(handlerId)) {
        reject(new Error("session ended by the idle-in-transaction timeout"));
        return;
      }
      if (handlerId === this.owner) this.disarm();
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.run();
    });
  }

  private next(): Pending | undefined {
    const index = this.owner === null ? 0 : this.queue.findIndex((p) => p.handlerId === this.owner);
    return index === -1 ? undefined : this.queue.splice(index, 1)[0];
  }

  private disarm(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** The owner has nothing left to run but still holds the session: give it `idleTimeoutMs`. */
  private arm(): void {
    this.disarm();
    const owner = this.owner;
    if (owner === null) return;
    this.idleTimer = setTimeout(() => void this.cut(owner), this.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let item = this.next(); item; item = this.next()) {
        this.disarm();
        this.owner = item.handlerId;
        const name = parsedName(item.message);
        const type = item.message[0];
        const syncPoint = type === SYNC || type === QUERY || type === TERMINATE || type === 0;
        if (name !== null && this.prepared.has(name) && this.atSync.has(item.handlerId)) {
          this.atSync.delete(item.handlerId);
          item.onData(PARSE_COMPLETE_MESSAGE);
          item.resolve(PARSE_COMPLETE_MESSAGE.length);
          continue;
        }
        let bytes = 0;
        let first: number | undefined;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                if (bytes === 0) first = data[0];
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (err) {
          item.reject(err instanceof Error ? err : new Error(String(err)));
          continue;
        }
        if (
          name !== null &&
          SHARED_NAME.test(name) &&
          first === PARSE_COMPLETE &&
          this.prepared.size < MAX_SHARED_NAMES
        ) {
          this.prepared.add(name);
        }
        const closed = closedName(item.message);
        if (closed !== null) this.prepared.delete(closed);
        if (syncPoint) this.atSync.add(item.handlerId);
        else this.atSync.delete(item.handlerId);
        if (syncPoint && !this.db.isInTransaction()) this.owner = null;
        item.resolve(bytes);
      }
    } finally {
      this.running = false;
      if (this.owner !== null) this.arm();
    }
  }

  /**
   * Takes the session back from an owner idle for too long: a Sync ends whatever extended-query
   * exchange it left half done, its transaction is rolled back, it is told why and disconnected
   * (`onCut`), and the queue moves on to the next client.
   */
  private async cut(handlerId: number): Promise<void> {
    if (this.owner !== handlerId || this.running) return;
    this.cutOff.add(handlerId);
    this.running = true;
    try {
      await this.db.runExclusive(() => this.db.execProtocolRaw(SYNC_MESSAGE));
      // exec takes PGlite's own lock: outside runExclusive, which holds it (the queue is held by `running`).
      if (this.db.isInTransaction()) await this.db.exec("ROLLBACK");
    } finally {
      this.owner = null;
      this.running = false;
    }
    this.dropQueued(handlerId);
    this.onCut(handlerId);
    void this.run();
  }

  private dropQueued(handlerId: number): void {
    this.queue = this.queue.filter((p) => {
      if (p.handlerId !== handlerId) return true;
      p.reject(new Error("client disconnected"));
      return false;
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.dropQueued(handlerId);
    this.cutOff.delete(handlerId);
    this.atSync.delete(handlerId);
  }

  /** A client that left mid-transaction gets its transaction rolled back and the session freed. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    this.disarm();
    if (this.db.isInTransaction()) await this.db.exec("ROLLBACK");
    this.owner = null;
    void this.run();
  }

  stop(): void {
    this.disarm();
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

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** Bounds on what an unauthenticated client may make the server buffer. */
const MAX_STARTUP_BYTES = 10_000;
const MAX_PASSWORD_BYTES = 1_024;

/** A FATAL ErrorResponse (PostgreSQL's wire format), for a client about to be disconnected. */
export function fatalError(code: string, message: string): Buffer {
  const fields = Buffer.concat([
    ...[
      ["S", "FATAL"],
      ["V", "FATAL"],
      ["C", code],
      ["M", message],
    ].map(([k, v]) => Buffer.from(`${k}${v}\0`, "utf8")),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write("E", 0, "latin1");
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

/** What a client answers to an md5 challenge: "md5" + md5(md5(password + user) + salt), in hex. */
function md5Answer(password: string, user: string, salt: Buffer): string {
  const inner = createHash("md5")
    .update(password + user, "utf8")
    .digest("hex");
  return `md5${createHash("md5")
    .update(Buffer.concat([Buffer.from(inner), salt]))
    .digest("hex")}`;
}

function startupParameters(message: Buffer): Map<string, string> {
  const params = new Map<string, string>();
  const parts = message.subarray(8).toString("utf8").split("\0");
  for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) params.set(parts[i] as string, parts[i + 1] as string);
  return params;
}

/**
 * The server side of PostgreSQL's start-up handshake up to authentication: declines SSL and
 * GSS encryption (loopback only), reads the StartupMessage, challenges with
 * AuthenticationMD5Password and checks the answer. Resolves with the StartupMessage, which the
 * caller hands on to PGlite (whose AuthenticationOk then completes the handshake), or with null
 * once the client has been told why it is refused and disconnected.
 */
function authenticate(socket: net.Socket, password: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let startup: Buffer | undefined;
    let user = "";
    const salt = randomBytes(4);
    const done = (result: Buffer | null) => {
      // Paused until the next reader is attached, so that nothing the client sends is lost.
      socket.pause();
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("error", onGone);
      socket.removeListener("close", onGone);
      resolve(result);
    };
    const refuse = (code: string, message: string) => {
      // Destroyed once the reason is flushed: a paused socket would never notice the client leaving.
      socket.end(fatalError(code, message), () => socket.destroy());
      done(null);
    };
    const onGone = () => {
      socket.destroy();
      done(null);
    };
    const timer = setTimeout(() => refuse("08006", "authentication timeout"), AUTHENTICATION_TIMEOUT_MS);
    timer.unref();
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (!startup) {
        if (buffer.length < 8) return;
        const length = buffer.readInt32BE(0);
        if (length < 8 || length > MAX_STARTUP_BYTES) return refuse("08P01", "invalid startup packet length");
        if (buffer.length < length) return;
        const code = buffer.readInt32BE(4);
        const message = buffer.subarray(0, length);
        buffer = buffer.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          socket.write("N");
        } else if (code === CANCEL_REQUEST) {
          // Query cancellation is not supported: the request is dropped, as pglite-socket does.
          socket.destroy();
          return done(null);
        } else if (code === PROTOCOL_3) {
          startup = Buffer.from(message);
          user = startupParameters(startup).get("user") ?? "";
          const challenge = Buffer.alloc(13);
          challenge.write("R", 0, "latin1");
          challenge.writeInt32BE(12, 1);
          challenge.writeInt32BE(5, 5);
          salt.copy(challenge, 9);
          socket.write(challenge);
        } else {
          return refuse("08P01", "unsupported frontend protocol");
        }
      }
      if (buffer.length < 5) return;
      const length = buffer.readInt32BE(1);
      if (buffer[0] !== 0x70 || length < 5 || length > MAX_PASSWORD_BYTES) {
        return refuse("08P01", "expected a password message");
      }
      if (buffer.length < 1 + length) return;
      const answer = buffer.subarray(5, length).toString("utf8");
      const expected = Buffer.from(md5Answer(password, user, salt));
      const given = Buffer.from(answer);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return refuse("28P01", `password authentication failed for user "${user.slice(0, 64)}"`);
      }
      done(Buffer.concat([startup, buffer.subarray(1 + length)]));
    };
    socket.on("data", onData);
    socket.once("error", onGone);
    socket.once("close", onGone);
  });
}

/**
 * Opens the folder (creating it when new), serves it on 127.0.0.1 (an ephemeral port unless
 * `port` is given) with a fresh random password, and records the owner lock (whose URL carries
 * the password). `dir` may be `memory://` for a throwaway database (no lock then).
 */
export async function startEmbeddedServer(
  dir: string,
  opts: {
    port?: number;
    idleInTransactionTimeoutMs?: number;
    /** How often the owner vacuums and analyses what autovacuum would (embedded-maintenance.ts); 0: never. */
    maintenanceIntervalMs?: number;
    /** Hears each maintenance pass that did something or failed (by default, nothing is said). */
    onMaintenance?: MaintenanceReport;
  } = {},
): Promise<EmbeddedServer> {
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
  const password = randomBytes(24).toString("base64url");
  const handlers = new Map<number, { handler: PGLiteSocketHandler; socket: net.Socket }>();
  const queue = new SessionQueue(db, opts.idleInTransactionTimeoutMs ?? IDLE_IN_TRANSACTION_TIMEOUT_MS, (id) => {
    const client = handlers.get(id);
    if (!client) return;
    // What PostgreSQL says when idle_in_transaction_session_timeout ends a session.
    if (client.socket.writable) {
      client.socket.write(fatalError("25P03", "terminating connection due to idle-in-transaction timeout"));
    }
    void client.handler.detach(true);
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // A reset between the handshake and the handler's attaching must not go unhandled.
    socket.on("error", () => socket.destroy());
    socket.pause();
    void authenticate(socket, password).then((startup) => {
      if (!startup) return;
      const handler = new PGLiteSocketHandler({
        queryQueue: queue as unknown as ConstructorParameters<typeof PGLiteSocketHandler>[0]["queryQueue"],
        closeOnDetach: true,
      });
      handlers.set(handler.handlerId, { handler, socket });
      const forget = () => handlers.delete(handler.handlerId);
      handler.addEventListener("close", forget);
      handler.addEventListener("error", forget);
      // The start-up message goes to PGlite as if it had just arrived: its reply begins with AuthenticationOk.
      socket.unshift(startup);
      handler
        .attach(socket)
        .then(() => socket.resume())
        .catch(() => {
          forget();
          socket.destroy();
        });
    });
    socket.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  const url = `postgresql://postgres:${password}@127.0.0.1:${port}/postgres?sslmode=disable`;
  if (!inMemory) {
    const file = lockPath(dir);
    fs.writeFileSync(file, JSON.stringify({ pid: process.pid, url } satisfies EmbeddedLock), { mode: 0o600 });
    fs.chmodSync(file, 0o600);
  }

  const interval = opts.maintenanceIntervalMs ?? MAINTENANCE_INTERVAL_MS;
  const stopMaintenance =
    interval > 0
      ? scheduleMaintenance(
          url,
          interval,
          opts.onMaintenance ?? (() => {}),
          () => performance.now() - queue.lastMessageAt,
        )
      : null;

  let closed = false;
  return {
    url,
    db,
    async close() {
      if (closed) return;
      closed = true;
      // A pass under way is cut with the other clients below, and then waited for.
      const maintenanceStopped = stopMaintenance?.();
      queue.stop();
      await Promise.all([...handlers.values()].map((c) => c.handler.detach(true)));
      await maintenanceStopped;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.close();
      if (!inMemory) {
        const lock = readLock(dir);
        if (!lock || lock.pid === process.pid) fs.rmSync(lockPath(dir), { force: true });
      }
    },
  };
}
