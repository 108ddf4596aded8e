"""APsystems OpenAPI for AppDaemon: client, pure logic and thin apps.

The client and logic modules in this package never import AppDaemon, so they can be
tested and simulated without it; only the ``*_app`` modules do.
"""

__version__ = "0.2.0"
