"""`python -m app ...`"""
import sys

from app.cli import main

if __name__ == "__main__":  # spawned children (multiprocessing) import this module without running the CLI
    sys.exit(main())
