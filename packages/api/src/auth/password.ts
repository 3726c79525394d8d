// Password sign-in for the web app (next-auth's credentials provider calls this).
import { hash, verify } from "@node-rs/argon2";
import type { Db } from "@roster/db";
import { beginAll, type LoginThrottle, throttles } from "../services/throttles";
import { createSession, type SessionOrigin } from "./sessions";

export interface SignedIn {
  userId: string;
  email: string;
  name: string;
  sessionId: string;
  accessVersion: number;
}

// Verified against when the email is unknown, so both failures take the same time.
const dummyHash = hash("roster-timing-equaliser", { algorithm: 2 });

/** The throttles a password attempt passes: per account (the normalised email) and per client address. */
export interface PasswordThrottles {
  account: LoginThrottle;
  address: LoginThrottle;
}

const defaultThrottles = (): PasswordThrottles => ({
  account: throttles().passwordAccount,
  address: throttles().passwordAddress,
});

/**
 * Checks the credentials; on success records a new server-side session (and the login time).
 * Throws RateLimitError, before any hashing, while the account or the client address is locked.
 */
export async function signInWithPassword(
  prisma: Db,
  credentials: { email: unknown; password: unknown },
  origin: SessionOrigin = {},
  guard: PasswordThrottles = defaultThrottles(),
): Promise<SignedIn | null> {
  const email = typeof credentials.email === "string" ? credentials.email.trim().toLowerCase() : "";
  const password = typeof credentials.password === "string" ? credentials.password : "";
  if (!email || email.length > 320 || !password || password.length > 1024) return null;
  const [account, address] = await beginAll([
    [guard.account, email],
    // No known address (a caller outside HTTP): the account's count still applies.
    [guard.address, origin.ip || "unknown"],
  ]);
  if (!account || !address) throw new Error("unreachable: beginAll starts every attempt or throws");
  try {
    const signedIn = await checkPassword(prisma, email, password, origin);
    if (signedIn) {
      await account.succeeded();
      // The address's count is of failures: a success neither adds to it nor clears it.
      await address.abandoned();
    } else {
      await account.failed();
      await address.failed();
    }
    return signedIn;
  } finally {
    await account.abandoned();
    await address.abandoned();
  }
}

async function checkPassword(
  prisma: Db,
  email: string,
  password: string,
  origin: SessionOrigin,
): Promise<SignedIn | null> {
  const user = await prisma.user.findUnique({
    where: { email },
    select: { id: true, email: true, firstName: true, lastName: true, passwordHash: true, isLocked: true },
  });
  const ok = await verify(user?.passwordHash ?? (await dummyHash), password).catch(() => false);
  if (!user?.passwordHash || !ok || user.isLocked) return null;
  const session = await createSession(prisma, user.id, origin);
  await prisma.orgMembership.updateMany({
    where: { userId: user.id },
    data: { lastLoginTime: new Date(), lastLoginAuthMethod: "email" },
  });
  return {
    userId: user.id,
    email: user.email,
    name: [user.firstName, user.lastName].filter(Boolean).join(" ") || user.email,
    sessionId: session.id,
    accessVersion: session.accessVersion,
  };
}
