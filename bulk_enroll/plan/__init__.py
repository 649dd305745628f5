"""Plan: requested pairs -> the fewest exact batches (API calls) within the limits. Pure."""
