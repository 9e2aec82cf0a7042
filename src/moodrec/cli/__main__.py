"""``python -m moodrec.cli``: the ``moodrec`` command."""

from moodrec.cli import main

main()
