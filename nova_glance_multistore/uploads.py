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
from nova_glance_multistore import stores as stores_mod
from nova_glance_multistore import target as target_mod
from nova_glance_multistore import validation

LOG = logging.getLogger(__name__)


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
        self.cleanups = cleanups.PendingCleanupRetries(conf, self.glance,
                                                       self.pending)

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
        self.cleanups.image_left_behind(context, image_id, instance, result)

    def retry_pending_cleanups(self):
        """Remove what an earlier outage left behind (never raises)."""
        self.cleanups.retry()

    def pending_discards(self):
        """Ids of the unfinished images still to delete from Glance."""
        return self.cleanups.pending_image_ids()
