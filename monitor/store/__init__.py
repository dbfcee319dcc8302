"""Storage: `db` (the only dialect-aware module: connection, dialects, migrations), `schema`,
and one module per table group: `items`, `health` (per-source health rows), `decisions`,
`outbox`, `cards`. Rows stay here; callers get `Item` and small dataclasses."""
