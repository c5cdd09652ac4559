"""Webhook subscriptions: the event log pushed to integrations, signed, in order, at least once.

``signing`` (Standard Webhooks secrets and signatures), ``store`` (subscriptions, their
positions and the delivery log, in the read-model database), ``delivery`` (the worker)."""
