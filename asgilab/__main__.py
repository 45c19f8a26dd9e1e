"""``python -m asgilab``: the same command line as the ``asgilab`` script."""

from .cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
