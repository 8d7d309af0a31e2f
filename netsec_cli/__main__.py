"""Allow `python -m netsec_cli`."""

from netsec_cli.cli import main

if __name__ == "__main__":
    main()
