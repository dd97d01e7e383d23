"""Image upload hooks: the extension point of nova-glance-multistore.

A hook is a class registered in the ``nova_glance_multistore.upload_hooks``
entry point namespace and named in ``[glance_multistore] upload_hooks``.
"""

from nova_glance_multistore.hooks.base import NAMESPACE  # noqa: F401
from nova_glance_multistore.hooks.base import UploadHook  # noqa: F401
from nova_glance_multistore.hooks.base import UploadRequest  # noqa: F401
