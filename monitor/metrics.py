"""Prometheus metrics: one registry for the daemon, served at /metrics by `daemon/http.py`.

Counters are labelled by source and outcome so an operator can see which source breaks and how.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry()

FETCHES = Counter("monitor_polls", "Polls of a source by outcome (ok or an error kind).",
                  ["source", "outcome"], registry=REGISTRY)
ITEMS = Counter("monitor_items_parsed", "Items parsed from a source's responses.", ["source"],
                registry=REGISTRY)
NEW_ITEMS = Counter("monitor_items_new", "Items stored for the first time.", ["source"],
                    registry=REGISTRY)
DURATION = Histogram("monitor_poll_duration_seconds", "Wall time of one poll of a source.",
                     ["source"], registry=REGISTRY,
                     buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
POSTED = Counter("monitor_candidates_posted", "Candidate cards delivered to an editor chat.",
                 registry=REGISTRY)
DIGESTS = Counter("monitor_digests_posted", "Section digests delivered to an editor chat.",
                  registry=REGISTRY)
CHAT_REFUSED = Counter("monitor_chat_refused", "Sends an editor chat refused (bot kicked).",
                       registry=REGISTRY)
DECISIONS = Counter("monitor_decisions", "Editor decisions by action.", ["action"],
                    registry=REGISTRY)
