// The extension modules every embedded database opens with: PGlite ships contrib extensions as
// separate modules, and a migration's CREATE EXTENSION fails unless the module was loaded when
// the database opened. Keep this list in step with the extensions the migrations create.
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";

export const pgliteExtensions = { pg_trgm };
