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

"""Image upload hooks: the extension point of nova-glance-multistore.

A hook is a class registered in the ``nova_glance_multistore.upload_hooks``
entry point namespace and named in ``[glance_multistore] upload_hooks``.
"""

from nova_glance_multistore.hooks.base import NAMESPACE  # noqa: F401
from nova_glance_multistore.hooks.base import UploadHook  # noqa: F401
from nova_glance_multistore.hooks.base import UploadRequest  # noqa: F401
