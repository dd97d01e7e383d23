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

"""Decide, validate, upload, clean up: one snapshot's store-aware upload.

``StoreAwareUploads.upload()`` wraps a driver's ``snapshot()``: before the
driver touches the guest it runs the hooks and validates the chosen store;
it registers the target so the data upload carries the store headers; and
if anything fails it deletes the image nova-api queued, which nova itself
does not do for shelve.
"""

import contextlib
import dataclasses
import threading
import time

from oslo_log import log as logging

from nova_glance_multistore import cleanups
from nova_glance_multistore import exception
from nova_glance_multistore import glance_client
from nova_glance_multistore.hooks import base
from nova_glance_multistore.hooks import pipeline as pipeline_mod
from nova_glance_multistore import image_api
from nova_glance_multistore import image_copies
from nova_glance_multistore import instance_events
from nova_glance_multistore import pending_cleanups
from nova_glance_multistore import store_details
from nova_glance_multistore import store_policy
from nova_glance_multistore import stores as stores_mod
from nova_glance_multistore import target as target_mod
from nova_glance_multistore import validation

LOG = logging.getLogger(__name__)

# Seconds a failed upload's request context is kept to delete its image
# later: its token may expire soon after (then nova's service user asks),
# and the map must not grow forever.
REQUESTER_CONTEXT_TTL = 600
# What discard_unfinished_image() answers (any Glance facts object).
_RESULTS = glance_client.GlanceFacts


class StoreAwareUploads:
    """Everything one nova-compute needs for store-aware uploads."""

    def __init__(self, conf, glance=None, pipeline=None, pending=None):
        self.conf = conf
        self.glance = glance or glance_client.GlanceFacts()
        self.targets = image_api.UploadTargets()
        self.catalog = stores_mod.StoreCatalog(
            self.glance.stores_info,
            conf.glance_multistore.stores_cache_ttl)
        self.pipeline = pipeline or pipeline_mod.UploadHookPipeline(conf)
        self.copies = image_copies.ImageCopies(conf, self.glance)
        # What an outage kept us from cleaning up, kept across restarts.
        self.pending = pending or pending_cleanups.PendingCleanups(
            conf.glance_multistore.pending_cleanups_file)
        # image id -> context of the request that made it, for
        # REQUESTER_CONTEXT_TTL seconds (image id -> when, in
        # _context_times): a pending image is deleted with its owner's
        # context while we have it and Glance accepts it, else with nova's
        # service credentials.
        self._contexts = {}
        self._context_times = {}
        self._contexts_lock = threading.Lock()
        # One retry of the pending cleanups at a time; pending key -> when a
        # cleanup that failed may be tried again.
        self._retry_lock = threading.Lock()
        self._not_before = {}
        self._clock = time.monotonic

    def image_api(self):
        """nova's image API, sending each upload to its registered store."""
        return image_api.StoreAwareImageAPI(self.targets)

    def plan(self, context, instance, image_id):
        """Run the hooks and validate their choice; no side effects.

        :returns: the validated UploadTarget.
        :raises StoreRefused: the target cannot take the upload.
        """
        request = base.UploadRequest(
            context=context, instance=instance, image_id=image_id,
            kind=base.upload_kind(instance),
            base_image_ref=target_mod.base_image_ref_of(instance),
            stores=self.catalog.get(context), glance=self.glance)
        upload_target = self.pipeline.run(request)
        if upload_target is None:
            # No hook chose (``multistore`` is not in upload_hooks).
            default = request.stores.default if request.stores else None
            upload_target = target_mod.UploadTarget(
                default.id if default else None,
                "no upload hook chose a store: Glance's default",
                request.base_image_ref)
        try:
            validation.validate_target(image_id, upload_target,
                                       request.stores)
        except exception.StoreRefused as refused:
            upload_target = self._fall_back(request, upload_target, refused)
        if upload_target.copy_to:
            upload_target = dataclasses.replace(
                upload_target, copy_to=tuple(image_copies.usable_copy_stores(
                    image_id, upload_target, request.stores, instance)))
        LOG.info('%(kind)s image %(image_id)s goes to Glance store '
                 '%(store)s (%(reason)s)%(copies)s.',
                 {'kind': request.kind.capitalize(), 'image_id': image_id,
                  'store': upload_target.store or "(Glance's choice)",
                  'reason': upload_target.reason,
                  'copies': ', then is copied to %s (%s)' % (
                      ', '.join(upload_target.copy_to),
                      upload_target.copy_source)
                  if upload_target.copy_to else ''}, instance=instance)
        return upload_target

    def _fall_back(self, request, upload_target, refused):
        policy = self.conf.glance_multistore.on_unusable_store
        default = request.stores.default if request.stores else None
        if policy != 'default' or request.stores is None or default is None:
            raise refused
        LOG.warning('%(error)s Using Glance\'s default store %(default)s '
                    'because [glance_multistore] on_unusable_store = '
                    'default.', {'error': refused, 'default': default.id},
                    instance=request.instance)
        return dataclasses.replace(
            upload_target, store=default.id,
            reason='fallback: %s' % refused.format_message(),
            source="Glance's default store ([glance_multistore] "
                   'on_unusable_store = default)')

    @contextlib.contextmanager
    def upload(self, context, instance, image_id):
        """Wrap one driver snapshot: plan first, clean up on any failure."""
        self.retry_pending_cleanups()
        try:
            upload_target = self.plan(context, instance, image_id)
        except Exception as e:
            LOG.error('Refusing to upload image %(image_id)s: %(error)s',
                      {'image_id': image_id, 'error': e}, instance=instance)
            self._discard(context, image_id, instance)
            if isinstance(e, exception.GlanceMultistoreError):
                instance_events.record_refusal(context, instance, e)
            raise
        upload_target = self._with_store_detail(context, upload_target)
        with self.targets.registered(image_id, upload_target):
            try:
                yield upload_target
            except Exception:
                self._discard(context, image_id, instance)
                raise
        # Uploaded: the copies never fail or delay the snapshot.
        self.copies.start(image_id, upload_target.copy_to, instance)

    def _with_store_detail(self, context, upload_target):
        """The target with its store's stores/detail entry, for framing."""
        if upload_target.store is None:
            return upload_target
        entry = store_details.store_entry(self.conf, self.glance, context,
                                          upload_target.store)
        return dataclasses.replace(upload_target, store_detail=entry)

    def _discard(self, context, image_id, instance):
        result = self.glance.discard_unfinished_image(context, image_id,
                                                      instance)
        if result in (_RESULTS.FAILED, _RESULTS.REFUSED):
            LOG.warning('Image %(image_id)s will be deleted once Glance '
                        'answers again.', {'image_id': image_id},
                        instance=instance)
            if result == _RESULTS.FAILED:
                self._remember_context(image_id, context)
            self.pending.add(pending_cleanups.GLANCE_IMAGE,
                             image_id=image_id,
                             instance_uuid=instance.uuid)

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

    def retry_pending_cleanups(self):
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
                self._retry_pending_cleanups(entries, deadline)
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

    def _retry_pending_cleanups(self, entries, deadline):
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
        attempted = []
        failed = []
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
                    try:
                        service = glance_client.service_context(self.conf)
                    except Exception as e:
                        LOG.warning('Pending deletions of unfinished images '
                                    'wait: no service credentials (%s).', e)
                        service = False
                result = (self.glance.discard_unfinished_image(service,
                                                               image_id)
                          if service else _RESULTS.FAILED)
            if result in (_RESULTS.DELETED, _RESULTS.KEPT):
                self.pending.remove(key)
                self._forget_context(image_id)
            else:
                failed.append(key)
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
            rbd_attempted, rbd_failed = cleanups.retry_pending_rbd_cleanups(
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

    def pending_discards(self):
        """Ids of the unfinished images still to delete from Glance."""
        return sorted(entry['image_id'] for _key, entry in
                      self.pending.entries(pending_cleanups.GLANCE_IMAGE))

    def check_configured_store(self, context):
        """Findings about the stores nova.conf names: a list of (ok, msg)."""
        store = self.conf.glance.store
        try:
            stores = self.catalog.get(context)
        except Exception as e:
            return [(False, 'Cannot read the Glance store list: %s' % e)]
        policy = store_policy.option_findings(self.conf, stores)
        if not store:
            return [(True, '[glance] store is not set: snapshots go to the '
                           "base image's store or Glance's default store")
                    ] + policy
        return [validation.store_finding('[glance] store', store, stores)
                ] + policy


def _images_type(conf):
    try:
        return conf.libvirt.images_type
    except (AttributeError, KeyError, LookupError):
        return None
