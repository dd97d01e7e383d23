"""Decide, validate, upload, clean up: one snapshot's store-aware upload.

``StoreAwareUploads.upload()`` wraps a driver's ``snapshot()``: before the
driver touches the guest it runs the hooks and validates the chosen store;
it registers the target so the data upload carries the store headers; and
if anything fails it deletes the image nova-api queued, which nova itself
does not do for shelve.
"""

import contextlib
import threading

from oslo_log import log as logging

from nova_glance_multistore import exception
from nova_glance_multistore import glance_client
from nova_glance_multistore.hooks import base
from nova_glance_multistore.hooks import pipeline as pipeline_mod
from nova_glance_multistore import image_api
from nova_glance_multistore import stores as stores_mod
from nova_glance_multistore import target as target_mod
from nova_glance_multistore import validation

LOG = logging.getLogger(__name__)


class StoreAwareUploads:
    """Everything one nova-compute needs for store-aware uploads."""

    def __init__(self, conf, glance=None, pipeline=None):
        self.conf = conf
        self.glance = glance or glance_client.GlanceFacts()
        self.targets = image_api.UploadTargets()
        self.catalog = stores_mod.StoreCatalog(
            self.glance.stores_info,
            conf.glance_multistore.stores_cache_ttl)
        self.pipeline = pipeline or pipeline_mod.UploadHookPipeline(conf)
        # Unfinished images Glance could not delete when the upload
        # failed (Glance down): image id -> (context, instance).
        self._pending_discards = {}
        self._pending_lock = threading.Lock()

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
        LOG.info('%(kind)s image %(image_id)s goes to Glance store '
                 '%(store)s (%(reason)s).',
                 {'kind': request.kind.capitalize(), 'image_id': image_id,
                  'store': upload_target.store or "(Glance's choice)",
                  'reason': upload_target.reason}, instance=instance)
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
        return target_mod.UploadTarget(
            default.id, 'fallback: %s' % refused.format_message(),
            request.base_image_ref)

    @contextlib.contextmanager
    def upload(self, context, instance, image_id):
        """Wrap one driver snapshot: plan first, clean up on any failure."""
        self.retry_pending_discards()
        try:
            upload_target = self.plan(context, instance, image_id)
        except Exception as e:
            LOG.error('Refusing to upload image %(image_id)s: %(error)s',
                      {'image_id': image_id, 'error': e}, instance=instance)
            self._discard(context, image_id, instance)
            raise
        with self.targets.registered(image_id, upload_target):
            try:
                yield upload_target
            except Exception:
                self._discard(context, image_id, instance)
                raise

    def _discard(self, context, image_id, instance):
        result = self.glance.discard_unfinished_image(context, image_id,
                                                      instance)
        if result == self.glance.FAILED:
            LOG.warning('Image %(image_id)s will be deleted once Glance '
                        'answers again.', {'image_id': image_id},
                        instance=instance)
            with self._pending_lock:
                self._pending_discards[image_id] = (context, instance)

    def retry_pending_discards(self):
        """Delete the orphans a Glance outage left, now that it may be back.

        Runs before every upload of this host, with the context of the
        request that made the orphan. Kept in memory only: a restart of
        nova-compute forgets them (see the docs).
        """
        with self._pending_lock:
            pending = list(self._pending_discards.items())
        for image_id, (context, instance) in pending:
            result = self.glance.discard_unfinished_image(context, image_id,
                                                          instance)
            if result != self.glance.FAILED:
                with self._pending_lock:
                    self._pending_discards.pop(image_id, None)

    def pending_discards(self):
        with self._pending_lock:
            return sorted(self._pending_discards)

    def check_configured_store(self, context):
        """Findings about ``[glance] store``: a list of (ok, message)."""
        store = self.conf.glance.store
        try:
            stores = self.catalog.get(context)
        except Exception as e:
            return [(False, 'Cannot read the Glance store list: %s' % e)]
        if not store:
            return [(True, '[glance] store is not set: snapshots go to the '
                           "base image's store or Glance's default store")]
        reason = validation.refusal_reason(store, stores)
        if reason:
            return [(False, '[glance] store %s is unusable: %s. Valid '
                            'stores: %s' % (validation.printable(store),
                                            reason,
                                            validation.valid_store_ids(
                                                stores)))]
        return [(True, '[glance] store %s is a writable Glance store' %
                 validation.printable(store))]
