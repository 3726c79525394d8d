// The tokens Roster signs: HS256 with the header and the claims the upstream service's tokens carry
// (iat and exp included), read back with an independent JWT library.
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { signAccessToken, signIdentityAccessToken, verifyTokenSignature } from "../src/auth/tokens";

const SECRET = "a-test-secret-of-more-than-thirty-two-characters";
const USER = "6c7c1b55-3a1c-4a0e-9f7e-0d1f2b3c4d5e";
const SESSION = "0b9d6b51-7c55-4f0c-8e2a-3d4e5f60718a";
const IDENTITY = "2f1e0d9c-8b7a-4654-9321-0fedcba98765";
const TOKEN_ID = "9a8b7c6d-5e4f-4321-8765-43210fedcba9";

describe("signed access tokens", () => {
  it("carry HS256, typ JWT, iat and exp = iat + ttl, for a user and for a machine identity", async () => {
    const now = Math.floor(Date.now() / 1000);
    const user = await signAccessToken({ userId: USER, tokenVersionId: SESSION, accessVersion: 1 }, SECRET, 600, now);
    const identity = await signIdentityAccessToken(
      { identityId: IDENTITY, clientSecretId: null, identityAccessTokenId: TOKEN_ID },
      SECRET,
      3600,
      now,
    );
    for (const [token, ttl] of [
      [user, 600],
      [identity, 3600],
    ] as const) {
      expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
      const claims = decodeJwt(token);
      expect(claims.iat).toBe(now);
      expect(claims.exp).toBe(now + ttl);
      // Another library accepts the signature with the same secret.
      await expect(jwtVerify(token, new TextEncoder().encode(SECRET))).resolves.toMatchObject({ payload: claims });
    }
    expect(decodeJwt(user)).toMatchObject({ authTokenType: "accessToken", userId: USER, tokenVersionId: SESSION });
    await expect(verifyTokenSignature(user, SECRET)).resolves.toMatchObject({
      kind: "user",
      claims: { userId: USER, iat: now, exp: now + 600 },
    });
    await expect(verifyTokenSignature(identity, SECRET)).resolves.toMatchObject({
      kind: "identity",
      claims: { identityId: IDENTITY, iat: now, exp: now + 3600 },
    });
  });
});
