export * from "./audit";
export * from "./bulk-delete";
export * from "./errors";
export * from "./identities";
export * from "./manifest";
export * from "./memberships";
export * from "./permissions";
export * from "./viewer";
