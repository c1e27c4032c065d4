"""octomem: a memory layer for LLM agents."""
