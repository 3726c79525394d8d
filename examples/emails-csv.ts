// The emails of a CSV file, for examples/deprovision.ts: one a line, with an optional header
// naming an `email` column (else the first column is read); other columns are ignored.

const EMAIL = /^[^\s@,;"'<>]+@[^\s@,;"'<>]+\.[^\s@,;"'<>]+$/;

/** One CSV line's cells (double quotes and doubled quotes inside them understood). */
function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      cells.push(cell);
      cell = "";
    } else cell += ch;
  }
  cells.push(cell);
  return cells.map((c) => c.trim());
}

export interface EmailList {
  /** Lower-cased, trimmed, first occurrence order, no duplicates. */
  emails: string[];
  invalid: { line: number; text: string }[];
  duplicates: number;
}

/** The emails of a CSV file: an optional header naming an `email` column (else the first column). */
export function parseEmailCsv(text: string): EmailList {
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  const out: EmailList = { emails: [], invalid: [], duplicates: 0 };
  const seen = new Set<string>();
  let column: number | null = null;
  lines.forEach((raw, index) => {
    if (raw.trim() === "") return;
    const cells = splitCsvLine(raw);
    if (column === null) {
      const header = cells.findIndex((c) => c.toLowerCase() === "email");
      column = Math.max(header, 0);
      if (header >= 0) return; // the header line
    }
    const email = (cells[column] ?? "").toLowerCase();
    if (email === "") return;
    if (!EMAIL.test(email)) {
      out.invalid.push({ line: index + 1, text: raw.trim() });
      return;
    }
    if (seen.has(email)) out.duplicates++;
    else {
      seen.add(email);
      out.emails.push(email);
    }
  });
  return out;
}
