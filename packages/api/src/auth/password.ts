// Password sign-in for the web app (next-auth's credentials provider calls this).
import { hash, verify } from "@node-rs/argon2";
import type { Db } from "@roster/db";
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

/** Checks the credentials; on success records a new server-side session (and the login time). */
export async function signInWithPassword(
  prisma: Db,
  credentials: { email: unknown; password: unknown },
  origin: SessionOrigin = {},
): Promise<SignedIn | null> {
  const email = typeof credentials.email === "string" ? credentials.email.trim().toLowerCase() : "";
  const password = typeof credentials.password === "string" ? credentials.password : "";
  if (!email || !password || password.length > 1024) return null;
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
