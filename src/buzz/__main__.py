"""`python -m buzz` is the `buzz` command."""

from buzz.cli import main

main()
