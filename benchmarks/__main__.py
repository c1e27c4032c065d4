"""`python -m benchmarks <command> ...` (from the repository's root): see `benchmarks.cli`."""

from benchmarks.cli import run

if __name__ == "__main__":
    run()
