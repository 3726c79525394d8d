// Types of security-headers.mjs.
export declare const NONCE_HEADER: "x-nonce";
export declare function isApiPath(pathname: string): boolean;
export declare function newNonce(): string;
export declare function contentSecurityPolicy(nonce: string, opts: { https: boolean }): string;
export declare const API_CONTENT_SECURITY_POLICY: string;
export declare function securityHeaders(publicUrl: string | undefined): Record<string, string>;
export declare function apiSecurityHeaders(publicUrl: string | undefined): Record<string, string>;
export declare function isHttps(publicUrl: string | undefined): boolean;
