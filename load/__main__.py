"""`python -m load SCENARIO [options]`: see docs/performance.md, or --help."""

from load.cli import main

if __name__ == "__main__":
    main()
