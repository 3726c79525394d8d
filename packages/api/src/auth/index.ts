export { signInWithPassword, type SignedIn } from "./password";
export { revokeSession, issueAccessToken, issueAccessTokens, createSession } from "./sessions";
export { verifyBearer, resolveSession, resolveMembership, type Caller, type SessionPrincipal } from "./caller";
export { signAccessToken, verifyAccessTokenSignature } from "./tokens";
