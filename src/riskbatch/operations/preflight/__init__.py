"""Preflight: will tonight's run fit this account? The checks by what they read (capacity, buckets,
images, monitoring), what they say (findings), and the lists that run them (checks)."""
