"""Charge HQ Push API forwarder: payload building, sender and the AppDaemon app.

It depends on ``apsystems`` only through this small surface, and never on an APsystems app:

- ``apsystems.common.args.APPDAEMON_KEYS`` and ``PUBLISH_KEYS``: the keys AppDaemon puts into every app's args,
  and the ``publish`` keys every app shares;
- ``apsystems.api.bounded_http``: HTTP with a total deadline, a body cap and no redirects;
- ``apsystems.common.json_file``: the one atomic JSON writer and reader;
- ``apsystems.ha.support``: ``log_version`` and ``ensure_user_namespace`` (the shared namespace,
  created at run time);
- ``apsystems.common.entities`` and ``apsystems.ha.publisher.publisher_for``: the status entity in the entity
  model, published through the ``Publisher`` that ``publish: set_state|mqtt`` chooses;
- ``apsystems.production.share``: the latest production the production app shares.
- ``apsystems.household.share``: the meter and battery fields the meters app shares.
"""
