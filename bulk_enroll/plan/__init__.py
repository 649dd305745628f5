"""Plan: requested pairs -> the fewest exact batches (API calls) within the limits. Pure.

The fourth stage of the flow; see docs/ARCHITECTURE.md.
"""
