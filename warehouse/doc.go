// Package warehouse owns the DuckDB file: migrations, the single writer, read queries,
// release storage and exports. It is the only package that speaks SQL.
//
// How it is put together, and why:
//
//   - One duckdb Connector and one *sql.DB (closing the *sql.DB closes the connector). Reads
//     use its bounded pool; the writer holds one connection of it for the DB's lifetime.
//   - Every write runs on the writer goroutine (writer.go), in queue order. Commit calls
//     queued together are stored in one transaction (group commit), so fifty concurrent API
//     submissions cost one commit, not fifty. The writer keeps the supersede state (current
//     submission and content hash per organisation and cycle), cycles and organisation
//     profiles in memory, rebuilt from the file at Open, so it decides without queries.
//   - Rows go in as Arrow record batches registered as views and copied with
//     INSERT ... SELECT (arrowbatch.go, txwrite.go). DuckDB cannot register an Arrow view in
//     an on-disk catalog, so the writer's connection USEs an attached in-memory catalog and
//     names the file's tables in full (writer.t). Views are registered before BEGIN and
//     dropped after the transaction; a view is scanned once.
//   - The schema is numbered SQL files in migrations/, applied at Open. A new table needs a
//     new file; code that writes it runs through DB.do so that it is ordered with the rest.
package warehouse
