"""Shared test support: helpers that several test layers use (not tests themselves)."""
