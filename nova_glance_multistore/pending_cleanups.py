"""Cleanups an outage postponed, kept on disk until they succeed.

A snapshot that fails while Glance or Ceph is unreachable cannot remove
what it made: the queued image nova-api created, an rbd clone in the store's
pool, a protected snapshot on the instance disk. Leaving them would leak
space and, for the disk snapshot, block deleting the instance. They are
recorded here (ids and pool names only, no credentials) and retried before
the host's next upload and when nova-compute starts again.

Only cleanups that *failed* are recorded, never work in progress, so a
retry can never remove what a concurrent snapshot is still making.
"""

import json
import os
import threading

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

GLANCE_IMAGE = 'glance_image'    # image_id, instance_uuid
RBD_CLONE = 'rbd_clone'          # fsid, pool, image: a clone and its snap
RBD_SNAPSHOT = 'rbd_snapshot'    # fsid, pool, image, snapshot
# Retry order: a clone must go before the disk snapshot it was cloned from.
KINDS = (GLANCE_IMAGE, RBD_CLONE, RBD_SNAPSHOT)


def entry_key(kind, **fields):
    """A stable key, so recording the same leftover twice keeps one entry."""
    return '%s:%s' % (kind, ':'.join('%s=%s' % (name, fields[name])
                                     for name in sorted(fields)))


class PendingCleanups:
    """A small JSON file of leftovers, written atomically.

    A missing or unreadable file means nothing is pending (a corrupt file is
    renamed aside and reported, never silently dropped).
    """

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()

    def _load(self):
        try:
            with open(self.path) as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            aside = self.path + '.corrupt'
            LOG.error('Pending cleanups file %(path)s is unreadable '
                      '(%(error)s); moved to %(aside)s, its leftovers must '
                      'be removed by hand.', {'path': self.path, 'error': e,
                                              'aside': aside})
            try:
                os.replace(self.path, aside)
            except OSError:
                pass
            return {}
        if not isinstance(data, dict):
            return {}
        return {key: entry for key, entry in data.items()
                if isinstance(entry, dict) and entry.get('kind') in KINDS}

    def _save(self, entries):
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        tmp = '%s.%d.tmp' % (self.path, os.getpid())
        with open(tmp, 'w') as handle:
            json.dump(entries, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def add(self, kind, **fields):
        """Remember one leftover; returns its key."""
        key = entry_key(kind, **fields)
        with self._lock:
            entries = self._load()
            entries[key] = dict(fields, kind=kind)
            try:
                self._save(entries)
            except OSError as e:
                LOG.error('Could not record pending cleanup %(key)s in '
                          '%(path)s: %(error)s', {'key': key,
                                                  'path': self.path,
                                                  'error': e})
        return key

    def remove(self, key):
        with self._lock:
            entries = self._load()
            if entries.pop(key, None) is not None:
                self._save(entries)

    def entries(self, kind=None):
        """(key, entry) pairs in retry order (see KINDS)."""
        with self._lock:
            entries = self._load()
        order = {k: i for i, k in enumerate(KINDS)}
        chosen = [(key, entry) for key, entry in entries.items()
                  if kind is None or entry['kind'] == kind]
        return sorted(chosen, key=lambda item: (order[item[1]['kind']],
                                                item[0]))
