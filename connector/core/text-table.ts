/**
 * A plain text table for people: two spaces between columns; columns from `rightFrom` on are right-aligned
 * (numbers), the others left-aligned. Shared by the run summary and the ledger commands.
 */
export function textTable(header: string[], body: string[][], rightFrom = Infinity): string[] {
  const rows = [header, ...body];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i >= rightFrom ? cell.padStart(widths[i]!) : i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}
