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

"""The built-in hook: choose the store of a snapshot, backup or shelve."""

import dataclasses

from nova_glance_multistore.hooks import base
from nova_glance_multistore import store_policy
from nova_glance_multistore import target as target_mod


class MultistoreHook(base.UploadHook):
    """Choose the store (``store_policy``, then ``target``) and the copies.

    The user's allowed choice, the flavor's, ``[glance] store``, else the
    base image's store, else Glance's default.
    """

    def before_upload(self, request):
        if request.target is not None:
            return  # an earlier hook chose already
        requested = store_policy.requested_store(
            self.conf, request.instance, request.image_id)
        base_image_stores = None
        if (requested is None and request.stores is not None and
                request.base_image_ref):
            base_image_stores = request.glance.image_stores(
                request.context, request.base_image_ref)
        chosen = target_mod.resolve_target_store(
            requested, request.base_image_ref, base_image_stores,
            request.stores)
        copy_to, copy_source = store_policy.copy_stores(self.conf,
                                                        request.instance)
        request.target = dataclasses.replace(
            chosen, source=chosen.source or chosen.reason,
            # The target itself is dropped after validation
            # (image_copies.usable_copy_stores): a fallback may change it.
            copy_to=tuple(copy_to),
            copy_source=copy_source)
