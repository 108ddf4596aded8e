"""APsystems OpenAPI for AppDaemon: one package per concern below thin apps.

``api`` (client, records, errors) -> ``budget``, ``production``, ``inverters`` (pure logic) ->
``ha`` (the AppDaemon boundary) -> the ``*_app`` modules. Only ``ha`` and the apps import
AppDaemon, and nothing below the apps imports an app.
"""

__version__ = "0.2.0"
