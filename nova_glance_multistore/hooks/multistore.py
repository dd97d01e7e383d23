"""The built-in hook: choose the store of a snapshot, backup or shelve."""

from nova_glance_multistore.hooks import base
from nova_glance_multistore import target as target_mod


class MultistoreHook(base.UploadHook):
    """``[glance] store``, else the base image's store, else the default."""

    def before_upload(self, request):
        if request.target is not None:
            return  # an earlier hook chose already
        configured = self.conf.glance.store
        base_image_stores = None
        if (not configured and request.stores is not None and
                request.base_image_ref):
            base_image_stores = request.glance.image_stores(
                request.context, request.base_image_ref)
        request.target = target_mod.resolve_target_store(
            configured, request.base_image_ref, base_image_stores,
            request.stores)
