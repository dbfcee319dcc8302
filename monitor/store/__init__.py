"""Storage: `db` (connection, dialects, migrations), `items`, `sources` (health); rows stay here."""
