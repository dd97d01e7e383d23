# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Cleanups an outage postponed, kept on disk until they succeed.

A snapshot that fails while Glance or Ceph is unreachable cannot remove
what it made: the queued image nova-api created, an rbd clone in the store's
pool, a protected snapshot on the instance disk. Leaving them would leak
space and, for the disk snapshot, block deleting the instance. They are
recorded here (ids and pool names only, no credentials) and retried before
the host's next upload and when nova-compute starts again.

Only cleanups that *failed* are recorded, never work in progress, so a
retry can never remove what a concurrent snapshot is still making.

Nothing recorded is ever lost: a file that cannot be parsed is moved aside
(never over an earlier one) and reported; entries this version does not
know (another version's kind, missing fields) are kept in the file and
reported once, never dropped when the file is rewritten.
"""

import json
import os
import threading
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

GLANCE_IMAGE = 'glance_image'    # image_id, instance_uuid
RBD_CLONE = 'rbd_clone'          # fsid, pool, image: a clone and its snap
RBD_SNAPSHOT = 'rbd_snapshot'    # fsid, pool, image, snapshot
# Retry order: a clone must go before the disk snapshot it was cloned from.
KINDS = (GLANCE_IMAGE, RBD_CLONE, RBD_SNAPSHOT)
# The fields a retry of each kind needs.
REQUIRED = {GLANCE_IMAGE: ('image_id',),
            RBD_CLONE: ('fsid', 'pool', 'image'),
            RBD_SNAPSHOT: ('fsid', 'pool', 'image', 'snapshot')}


def entry_key(kind, **fields):
    """A stable key, so recording the same leftover twice keeps one entry."""
    return '%s:%s' % (kind, ':'.join('%s=%s' % (name, fields[name])
                                     for name in sorted(fields)))


def is_known(entry):
    """Whether this version can retry ``entry``."""
    return (isinstance(entry, dict) and entry.get('kind') in KINDS and
            all(isinstance(entry.get(name), str) and entry.get(name)
                for name in REQUIRED[entry['kind']]))


class UnreadableFile(OSError):
    """The file exists but can be neither read nor moved aside."""


class PendingCleanups:
    """A small JSON file of leftovers, written atomically."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._reported = set()  # unknown entries already logged

    def _load(self):
        """Every entry of the file, retryable or not.

        :raises UnreadableFile: the file is there but could not be read or
            moved aside; it must then not be overwritten.
        """
        try:
            with open(self.path, 'rb') as handle:
                data = json.loads(handle.read().decode('utf-8'))
        except FileNotFoundError:
            return {}
        except ValueError as e:  # JSON or UTF-8 errors
            self._move_aside('cannot be parsed (%s)' % e)
            return {}
        except OSError as e:
            LOG.error('Pending cleanups file %(path)s cannot be read '
                      '(%(error)s); it is left as it is and nothing is '
                      'recorded in it until it can be.',
                      {'path': self.path, 'error': e})
            raise UnreadableFile(str(e)) from e
        if not isinstance(data, dict):
            self._move_aside('its top level is a JSON %s, not an object' %
                             type(data).__name__)
            return {}
        for key, entry in data.items():
            if not is_known(entry) and key not in self._reported:
                self._reported.add(key)
                LOG.error('Pending cleanup %(key)s in %(path)s is not one '
                          'this version can retry (%(entry)r); it is kept '
                          'in the file for an operator or another version.',
                          {'key': key, 'path': self.path, 'entry': entry})
        return data

    def _move_aside(self, why):
        """Rename the file to a new unique name, never over an earlier one."""
        stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        for attempt in range(100):
            aside = '%s.corrupt-%s%s' % (self.path, stamp,
                                         '-%d' % attempt if attempt else '')
            try:
                # link() fails if ``aside`` exists: no earlier file is lost.
                os.link(self.path, aside)
            except FileExistsError:
                continue
            except OSError as e:
                error = e
                break
            os.unlink(self.path)
            LOG.error('Pending cleanups file %(path)s %(why)s; moved to '
                      '%(aside)s: the leftovers it records must be removed '
                      'by hand.', {'path': self.path, 'why': why,
                                   'aside': aside})
            return
        else:
            error = 'no free name'
        LOG.error('Pending cleanups file %(path)s %(why)s and cannot be '
                  'moved aside (%(error)s); it is left as it is.',
                  {'path': self.path, 'why': why, 'error': error})
        raise UnreadableFile(str(error))

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
            try:
                entries = self._load()
                entries[key] = dict(fields, kind=kind)
                self._save(entries)
            except OSError as e:
                LOG.error('Could not record pending cleanup %(key)s '
                          '(%(fields)s) in %(path)s: %(error)s',
                          {'key': key, 'fields': fields, 'path': self.path,
                           'error': e})
        return key

    def remove(self, key):
        """Forget one leftover (it is gone); errors are logged, not raised."""
        with self._lock:
            try:
                entries = self._load()
                if entries.pop(key, None) is not None:
                    self._save(entries)
            except OSError as e:
                LOG.error('Could not remove done cleanup %(key)s from '
                          '%(path)s: %(error)s (it will be retried and '
                          'found gone).', {'key': key, 'path': self.path,
                                           'error': e})

    def entries(self, kind=None):
        """Retryable (key, entry) pairs in retry order (see KINDS)."""
        with self._lock:
            try:
                entries = self._load()
            except OSError:
                return []
        order = {k: i for i, k in enumerate(KINDS)}
        chosen = [(key, entry) for key, entry in entries.items()
                  if is_known(entry) and
                  (kind is None or entry['kind'] == kind)]
        return sorted(chosen, key=lambda item: (order[item[1]['kind']],
                                                item[0]))
