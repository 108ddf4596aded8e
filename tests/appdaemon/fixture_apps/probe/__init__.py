"""Test-only AppDaemon apps (never deployed): the harness tests run them like our own apps.

Same layout as ``apps/apsystems``: a package under AppDaemon's ``app_dir``, apps addressed as
``module: probe.probe_app``, sibling modules imported relatively.
"""
