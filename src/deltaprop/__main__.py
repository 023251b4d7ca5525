"""``python -m deltaprop``: the command line, as the ``deltaprop`` console script."""

from deltaprop.cli import main

if __name__ == "__main__":
    main()
