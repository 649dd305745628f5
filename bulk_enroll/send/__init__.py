"""Send: batches -> outcomes per pair, exactly once (journal, reconcile, retries, rate limit)."""
