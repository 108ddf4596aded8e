"""Charge HQ Push API forwarder: payload building, sender and the AppDaemon app.

It depends on ``apsystems`` only through this small surface, and never on an APsystems app:

- ``apsystems.common.args.APPDAEMON_KEYS``: the keys AppDaemon puts into every app's args;
- ``apsystems.api.bounded_http``: HTTP with a total deadline, a body cap and no redirects;
- ``apsystems.common.json_file``: the one atomic JSON writer and reader;
- ``apsystems.ha.support.publish_state``: publishing an entity (the AppDaemon 4.5.13 workaround);
- ``apsystems.production.share``: the latest production the production app shares.
- ``apsystems.household.share``: the meter and battery fields the meters app shares.
"""
