export { type Caller, resolveMembership, resolveSession, type SessionPrincipal, verifyBearer } from "./caller";
export { type SignedIn, signInWithPassword } from "./password";
export { createSession, issueAccessToken, issueAccessTokens, revokeSession } from "./sessions";
export { signAccessToken, verifyAccessTokenSignature } from "./tokens";
