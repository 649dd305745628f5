"""Send: batches -> outcomes per pair, exactly once (journal, reconcile, retries, rate limit).

The fifth stage of the flow; see docs/ARCHITECTURE.md for the exactly-once contract.
"""
