export * from "./errors";
export * from "./manifest";
export * from "./memberships";
export * from "./permissions";
export * from "./bulk-delete";
