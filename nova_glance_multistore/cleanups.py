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

"""Retries of what an outage kept us from cleaning up.

An unfinished image Glance could not delete, an rbd clone or disk snapshot
Ceph could not remove: ``pending_cleanups`` records them, and
``PendingCleanupRetries`` removes them later, before each upload and when
nova-compute starts, within a time budget.
"""

import threading
import time

from nova.storage import rbd_utils
from oslo_log import log as logging

from nova_glance_multistore import glance_client
from nova_glance_multistore import pending_cleanups
from nova_glance_multistore import rbd_steps

LOG = logging.getLogger(__name__)

# Seconds a failed upload's request context is kept to delete its image
# later: its token may expire soon after (then nova's service user asks),
# and the map must not grow forever.
REQUESTER_CONTEXT_TTL = 600
# What discard_unfinished_image() answers (any Glance facts object).
_RESULTS = glance_client.GlanceFacts


class PendingCleanupRetries:
    """One host's recorded leftovers, and the retries that remove them."""

    def __init__(self, conf, glance, pending, clock=time.monotonic):
        self.conf = conf
        self.glance = glance
        self.pending = pending
        # image id -> context of the request that made it, for
        # REQUESTER_CONTEXT_TTL seconds (image id -> when, in
        # _context_times): a pending image is deleted with its owner's
        # context while we have it and Glance accepts it, else with nova's
        # service credentials.
        self._contexts = {}
        self._context_times = {}
        self._contexts_lock = threading.Lock()
        # One retry at a time; pending key -> when a cleanup that failed
        # may be tried again.
        self._retry_lock = threading.Lock()
        self._not_before = {}
        self._clock = clock

    def image_left_behind(self, context, image_id, instance, result):
        """Record an image ``discard_unfinished_image`` could not delete."""
        if result not in (_RESULTS.FAILED, _RESULTS.REFUSED):
            return
        LOG.warning('Image %(image_id)s will be deleted once Glance '
                    'answers again.', {'image_id': image_id},
                    instance=instance)
        if result == _RESULTS.FAILED:
            self._remember_context(image_id, context)
        self.pending.add(pending_cleanups.GLANCE_IMAGE, image_id=image_id,
                         instance_uuid=instance.uuid)

    def pending_image_ids(self):
        """Ids of the unfinished images still to delete from Glance."""
        return sorted(entry['image_id'] for _key, entry in
                      self.pending.entries(pending_cleanups.GLANCE_IMAGE))

    def _remember_context(self, image_id, context):
        now = self._clock()
        with self._contexts_lock:
            self._forget_old_contexts(now)
            self._contexts[image_id] = context
            self._context_times[image_id] = now

    def _forget_old_contexts(self, now):
        for image_id in list(self._contexts):
            since = self._context_times.get(image_id, now)
            if now - since >= REQUESTER_CONTEXT_TTL:
                self._contexts.pop(image_id, None)
                self._context_times.pop(image_id, None)

    def _requester_context(self, image_id):
        with self._contexts_lock:
            self._forget_old_contexts(self._clock())
            return self._contexts.get(image_id)

    def _forget_context(self, image_id):
        with self._contexts_lock:
            self._contexts.pop(image_id, None)
            self._context_times.pop(image_id, None)

    def retry(self):
        """Remove what an earlier outage left behind, now that it may be over.

        Runs before every upload of this host and when nova-compute starts:
        unfinished images are deleted from Glance, rbd clones and disk
        snapshots removed from Ceph. Never raises: old leftovers must not
        fail the snapshot about to run, or nova-compute's start. Adds at
        most ``[glance_multistore] pending_cleanups_time_budget`` seconds:
        the retry runs in a worker (a green thread under eventlet, a thread
        otherwise) that starts no new cleanup once the budget is spent; one
        stuck on a hung Glance or Ceph finishes in the background while the
        snapshot goes on, and no other retry starts meanwhile.
        """
        try:
            entries = self.pending.entries()
        except Exception as e:
            LOG.warning('Pending cleanups stay pending: %s', e)
            return
        if not entries:
            return
        if not self._retry_lock.acquire(blocking=False):
            LOG.warning('Pending cleanups: the previous retry is still '
                        'running (Glance or Ceph hanging?); not starting '
                        'another one.')
            return
        budget = self.conf.glance_multistore.pending_cleanups_time_budget
        deadline = self._clock() + budget
        done = threading.Event()

        def retry():
            try:
                self._retry_due(entries, deadline)
            except Exception as e:
                LOG.warning('Pending cleanups stay pending: %s', e)
            finally:
                self._retry_lock.release()
                done.set()

        try:
            threading.Thread(target=retry, name='pending-cleanups',
                             daemon=True).start()
        except Exception as e:
            self._retry_lock.release()
            LOG.warning('Pending cleanups stay pending: %s', e)
            return
        if not done.wait(budget):
            LOG.warning('Pending cleanups: a retry is still waiting for '
                        'Glance or Ceph after %(budget)d seconds '
                        '([glance_multistore] pending_cleanups_time_budget); '
                        'going on without it, it finishes in the '
                        'background.', {'budget': budget})

    def _retry_due(self, entries, deadline):
        """Retry ``entries`` (the file as read) until ``deadline``.

        :returns: the keys attempted.
        """
        now = self._clock()
        interval = self.conf.glance_multistore.pending_cleanups_retry_interval
        for key in list(self._not_before):
            if self._not_before[key] <= now:
                del self._not_before[key]
        due = [(key, entry) for key, entry in entries
               if key not in self._not_before]
        attempted, failed = self._retry_images(due, deadline)
        rbd = [(key, entry) for key, entry in due
               if entry['kind'] != pending_cleanups.GLANCE_IMAGE]
        if rbd and self._clock() < deadline:
            # Whatever [libvirt] images_type is now: a host moved off rbd
            # still has the leftovers of its rbd days.
            if _images_type(self.conf) != 'rbd':
                LOG.info('Retrying %(count)d rbd leftovers although '
                         '[libvirt] images_type is %(type)s now.',
                         {'count': len(rbd),
                          'type': _images_type(self.conf)})
            rbd_attempted, rbd_failed = retry_pending_rbd_cleanups(
                self.pending, rbd, deadline=deadline, clock=self._clock)
            attempted.extend(rbd_attempted)
            failed.extend(rbd_failed)
        retry_at = self._clock() + interval
        for key in failed:
            self._not_before[key] = retry_at
        LOG.info('Pending cleanups: %(attempted)d of %(due)d due retried, '
                 '%(failed)d failed again (next try in %(interval)d s), '
                 '%(waiting)d waiting after an earlier failure.',
                 {'attempted': len(attempted), 'due': len(due),
                  'failed': len(failed), 'interval': interval,
                  'waiting': len(entries) - len(due)})
        return attempted

    def _retry_images(self, due, deadline):
        """Delete the due unfinished images: (keys attempted, failed)."""
        attempted, failed = [], []
        service = None  # fetched once, only when an image needs it
        for key, entry in due:
            if entry['kind'] != pending_cleanups.GLANCE_IMAGE:
                continue
            if self._clock() >= deadline:
                break
            attempted.append(key)
            image_id = entry['image_id']
            result = None
            owner = self._requester_context(image_id)
            if owner is not None:
                result = self.glance.discard_unfinished_image(owner,
                                                              image_id)
                if result == _RESULTS.REFUSED:
                    # The requester's token expired or was revoked.
                    self._forget_context(image_id)
                    result = None
            if result is None:
                if service is None:
                    service = self._service_context()
                result = (self.glance.discard_unfinished_image(service,
                                                               image_id)
                          if service else _RESULTS.FAILED)
            if result in (_RESULTS.DELETED, _RESULTS.KEPT):
                self.pending.remove(key)
                self._forget_context(image_id)
            else:
                failed.append(key)
        return attempted, failed

    def _service_context(self):
        """nova's service user context, or False when it cannot be made."""
        try:
            return glance_client.service_context(self.conf)
        except Exception as e:
            LOG.warning('Pending deletions of unfinished images wait: no '
                        'service credentials (%s).', e)
            return False


def _images_type(conf):
    try:
        return conf.libvirt.images_type
    except (AttributeError, KeyError, LookupError):
        return None


def retry_pending_rbd_cleanups(pending, entries, driver_factory=None,
                               deadline=None, clock=time.monotonic):
    """Remove the clones and disk snapshots a Ceph outage left behind.

    ``entries`` are ``pending.entries()`` as the caller read them. Only rbd
    entries of the cluster nova-compute's rbd driver reaches (same fsid)
    are touched; each one that still fails stays recorded. No new removal
    starts once ``clock()`` reaches ``deadline``.

    :returns: (keys attempted, keys still pending that were due)
    """
    entries = [(key, entry) for key, entry in entries
               if entry['kind'] != pending_cleanups.GLANCE_IMAGE]
    if not entries:
        return [], []
    try:
        driver = (driver_factory or rbd_utils.RBDDriver)()
        fsid = driver.get_fsid()
    except Exception as e:
        LOG.warning('%(count)d rbd leftovers stay pending: cannot reach '
                    'Ceph (%(error)s).', {'count': len(entries), 'error': e})
        keys = [key for key, _entry in entries]
        return keys, keys
    attempted, failed = [], []
    for key, entry in entries:
        if entry.get('fsid') != fsid:
            # Another cluster's: kept, and not looked at again at once.
            failed.append(key)
            continue
        if deadline is not None and clock() >= deadline:
            break
        attempted.append(key)
        try:
            if entry['kind'] == pending_cleanups.RBD_CLONE:
                rbd_steps.remove_clone_now(driver, entry['pool'],
                                           entry['image'])
            else:
                rbd_steps.remove_disk_snapshot_now(
                    driver, entry['pool'], entry['image'], entry['snapshot'])
        except Exception as e:
            LOG.warning('Pending rbd cleanup %(key)s failed again: '
                        '%(error)s', {'key': key, 'error': e})
            failed.append(key)
            continue
        LOG.info('Removed rbd leftover %(key)s of an earlier failed '
                 'snapshot.', {'key': key})
        pending.remove(key)
    return attempted, failed
