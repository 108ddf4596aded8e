"""APsystems' own energy history as Home Assistant long-term statistics (issue 14).

Pure logic only (no AppDaemon, no network): statistic rows and their running sum
(``book``), placing the cloud's hourly and daily values on hours (``hours``) and planning
the backfill (``backfill``). The app and the Home Assistant websocket client live elsewhere.
"""
