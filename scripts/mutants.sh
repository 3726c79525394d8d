#!/usr/bin/env bash
# Shows that the race tests guard what they claim to: applies each mutant of the bulk delete
# service in turn ("check 13 disabled", "organization lock removed"), runs the race tests on
# PostgreSQL (every mutant must make the last-two-admins race fail), restores the source, and
# runs them once more on the real code (they must pass). The source is restored on any exit,
# failure or interrupt included; a mutant is never left behind to be committed.
#
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres scripts/mutants.sh [test files...]
#
# Each run rebuilds the web app (the build follows the sources), so expect a few minutes each.
# Reports go to test-artifacts/mutants/<name>.json (vitest's JSON reporter) and <name>.log.
set -euo pipefail

cd "$(dirname "$0")/.."
SERVICE=packages/api/src/services/bulk-delete-memberships.ts
# The tests each mutant must fail (a vitest name pattern, matched against the full test names).
MUST_FAIL='the last two admins, removed at once'
TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=(apps/web/test/bulk-delete-concurrency.test.ts apps/web/test/bulk-delete-last-admins.test.ts)
OUT=test-artifacts/mutants

case "${DATABASE_URL:-}" in
  postgres://* | postgresql://*) ;;
  *)
    echo "mutants.sh: set DATABASE_URL to a PostgreSQL server: on the embedded database transactions never overlap, so a removed lock cannot show" >&2
    exit 2
    ;;
esac
if ! git diff --quiet -- "$SERVICE" || ! git diff --cached --quiet -- "$SERVICE"; then
  echo "mutants.sh: $SERVICE has uncommitted changes; commit or restore them first (a mutant left behind by a killed run?)" >&2
  exit 2
fi

mkdir -p "$OUT"
BACKUP="$(mktemp)"
cp -p "$SERVICE" "$BACKUP"
restore() {
  cp -p "$BACKUP" "$SERVICE"
  rm -f "$BACKUP"
}
trap restore EXIT
trap 'exit 130' INT TERM

# Each mutant: a name, a perl substitution that must match at least once, and what it breaks.
# The lock becomes `void 0;` rather than nothing, so a lock taken under a condition
# (`if (...) await tx.$executeRaw...;`) still compiles without it.
NAMES=(check-13-disabled lock-removed)
SUBSTS=(
  's/if \(\(row\?\.n \?\? 0\) === 0\) return \{ targets, blocker: new BadRequestError\(LAST_ADMIN\) \};/void 0;/g'
  's/await\s+tx\.\$(?:executeRaw|queryRaw)`[^`]*FROM\s+organizations[^`]*FOR\s+(?:NO\s+KEY\s+)?UPDATE[^`]*`;/void 0;/g'
)
WHATS=("check 13 never refuses" "no organization lock")

# Runs the tests into $OUT/$1.{json,log}; prints the failed tests with their first failure line.
run_tests() {
  local name=$1 rc=0
  npx vitest run "${TESTS[@]}" --reporter=default --reporter=json --outputFile.json="$OUT/$name.json" \
    >"$OUT/$name.log" 2>&1 || rc=$?
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const file of r.testResults)
      for (const t of file.assertionResults)
        if (t.status === "failed") {
          const first = (t.failureMessages[0] ?? "").split("\n").slice(0, 3).join(" | ");
          console.log(`  FAILED ${t.fullName}\n         ${first.slice(0, 400)}`);
        }
    console.log(`  ${r.numPassedTests} passed, ${r.numFailedTests} failed, of ${r.numTotalTests}`);
  ' "$OUT/$name.json" || echo "  (no JSON report: see $OUT/$name.log)"
  return $rc
}

status=0
for i in "${!NAMES[@]}"; do
  name=${NAMES[$i]} subst=${SUBSTS[$i]} what=${WHATS[$i]}
  echo "== mutant $name: $what"
  if ! perl -0777 -pe "\$n = ($subst); die \"pattern not found\\n\" unless \$n" "$BACKUP" >"$SERVICE"; then
    echo "mutants.sh: mutant $name no longer applies to $SERVICE: update its pattern" >&2
    exit 2
  fi
  git --no-pager diff --stat -- "$SERVICE" | sed 's/^/  /'
  if run_tests "$name"; then
    echo "  NOT CAUGHT: the tests passed with this mutant"
    status=1
  elif node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const hit = r.testResults.flatMap((f) => f.assertionResults)
        .some((t) => t.status === "failed" && t.fullName.includes(process.argv[2]));
      process.exit(hit ? 0 : 1);
    ' "$OUT/$name.json" "$MUST_FAIL" 2>/dev/null; then
    echo "  caught"
  else
    echo "  NOT CAUGHT by the tests named \"$MUST_FAIL\" (see $OUT/$name.log)"
    status=1
  fi
  cp -p "$BACKUP" "$SERVICE"
done

echo "== the real code"
if run_tests real; then
  echo "  passed"
else
  echo "  FAILED on the real code (see $OUT/real.log)"
  status=1
fi
exit $status
