"""Hooks of a separate distribution, to prove the extension point."""

from nova_glance_multistore import hooks
from nova_glance_multistore import target


class PinToArchiveHook(hooks.UploadHook):
    """Sends every backup to the archive store."""

    def before_upload(self, request):
        if request.kind == 'backup':
            request.target = target.UploadTarget(
                'archive', 'backups are archived', request.base_image_ref)


class PinToReservedHook(hooks.UploadHook):
    """A careless hook: the validation after the hooks must refuse it."""

    def before_upload(self, request):
        request.target = target.UploadTarget(
            'os_glance_tasks_store', 'careless', request.base_image_ref)
