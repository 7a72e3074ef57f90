"""The document's own figures where spec/ makes them exact, kept as the document gives them.

The simulator's rules are built from the exact forms (spec.models); the contract suite reads these to tell the
document's rules from the simulator's decisions, and the latency model is centred on the document's one figure.
"""

from __future__ import annotations

EXAMPLE_LATENCY_MS = 5234
"""The success example's `"latency_ms": 5234`, of its request for one hd 1024x1024 dall-e-3 image."""
