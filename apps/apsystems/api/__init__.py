"""The APsystems OpenAPI: request signing, the HTTP client, typed records and errors (no AppDaemon)."""
