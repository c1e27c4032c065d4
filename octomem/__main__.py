"""`python -m octomem`: the same as the `octomem` command."""

from octomem.cli import run

if __name__ == "__main__":
    run()
