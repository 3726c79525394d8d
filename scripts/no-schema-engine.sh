#!/bin/sh
# Stand-in for Prisma's native schema engine, which cannot be downloaded on this project's
# machines. `prisma generate/validate/format` only need the variable to point at an executable;
# migrations run through packages/db's migrate script (a WebAssembly build of the same engine).
echo "no native schema engine; use the project's migrate script (npm run db:migrate)" >&2
exit 1
