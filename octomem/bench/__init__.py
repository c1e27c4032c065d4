"""Benchmarks: retrieval quality on LoCoMo and speed at scale (`octomem bench ...`)."""
