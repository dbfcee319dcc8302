"""Bodies of the CLI commands, kept out of cli.py's argument parsing so that tests drive them
with plain values and streams: `sources` (sources, fetch, import, items), `learn` (classify,
train) and `compare` (monitor compare)."""
