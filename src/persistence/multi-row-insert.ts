/** PostgreSQL's limit on bind parameters in one statement (the protocol counts them in 16 bits). */
const MAX_BIND_PARAMETERS = 65_535;
/** Keeps statements moderate in size when the parameter limit would allow more rows. */
const MAX_ROWS_PER_STATEMENT = 1_000;

/** Splits rows so that each multi-row INSERT stays within the bind-parameter limit. */
export function chunkForInsert<T>(rows: readonly T[], parametersPerRow: number): T[][] {
  const rowsPerChunk = Math.min(
    MAX_ROWS_PER_STATEMENT,
    Math.floor(MAX_BIND_PARAMETERS / parametersPerRow),
  );
  const chunks: T[][] = [];
  for (let start = 0; start < rows.length; start += rowsPerChunk) {
    chunks.push(rows.slice(start, start + rowsPerChunk));
  }
  return chunks;
}

/**
 * `($1, $2::jsonb), ($3, $4::jsonb)` for a VALUES list: one tuple per row, one placeholder per
 * column, each followed by its column's cast ('' for none).
 */
export function valuesPlaceholders(rowCount: number, columnCasts: readonly string[]): string {
  const tuples: string[] = [];
  let parameter = 1;
  for (let row = 0; row < rowCount; row++) {
    tuples.push(`(${columnCasts.map((cast) => `$${parameter++}${cast}`).join(', ')})`);
  }
  return tuples.join(', ');
}
