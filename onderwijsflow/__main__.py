"""``python -m onderwijsflow``: the same as the ``onderwijsflow`` command."""

from onderwijsflow.cli import main

if __name__ == "__main__":
    main()
