"""Tempest plugin: which Glance store nova's snapshots and backups land in.

Loaded only by tempest, through the ``tempest.test_plugins`` entry point;
nova-compute never imports this package. Nothing is imported here so that
the pure helpers in :mod:`.store_info` can be used without tempest.
"""
