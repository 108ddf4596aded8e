"""Charge HQ Push API forwarder: payload building, sender and the AppDaemon app."""
