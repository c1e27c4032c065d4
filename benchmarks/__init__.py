"""octomem's benchmarks: retrieval quality on LoCoMo and LongMemEval, speed at scale, the
service, server mode (`python -m benchmarks ...`, `make bench*`). They live in the
repository, not in the wheel; run them from its root."""
