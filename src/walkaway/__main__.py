"""``python -m walkaway`` runs the command line."""

from walkaway.cli import run

if __name__ == "__main__":
    run()
