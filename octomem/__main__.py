"""`python -m octomem` and the `octomem` command."""

from octomem import _gc


def main() -> None:
    _gc.command_line()  # before the imports: the command's modules live as long as it does
    from octomem.cli import run

    run()


if __name__ == "__main__":
    main()
