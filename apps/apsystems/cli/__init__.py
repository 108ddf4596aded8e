"""Command line: ``check``, ``plan`` and ``simulate`` (``python -m apsystems``)."""
