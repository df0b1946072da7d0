/**
 * Plain-text tables for the benchmark reports: columns padded to their
 * widest cell, a dashed rule under the header. Used by scripts/bench.ts and
 * scripts/bench_peers.ts.
 */

/** `header` and `body` rows (cells as text) as aligned lines. */
export function textTable(header: string[], body: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => cells[column]?.length ?? 0))
  );
  const format = (cells: string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  return [format(header), widths.map((width) => "-".repeat(width)).join("  "), ...body.map(format)]
    .join("\n");
}
