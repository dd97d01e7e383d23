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

"""Which store an upload goes to: a pure decision, easy to reason about.

The rules, in order:

1. A store someone asked for (``store_policy``: the user's server metadata
   within the allowed stores, the flavor's extra spec, ``[glance] store``).
2. The store that holds the instance's base image (Glance ignores
   ``X-OpenStack-Base-Image-Ref``, so we resolve it): Glance's default store
   when it is among them, else the first writable one in Glance's order.
3. Glance's default store.
"""

import dataclasses
import re
import typing

from oslo_utils import uuidutils

if typing.TYPE_CHECKING:  # pragma: no cover
    from nova_glance_multistore import store_policy
    from nova_glance_multistore import stores as stores_mod

BASE_IMAGE_REF_HEADER = 'X-OpenStack-Base-Image-Ref'
STORE_HEADER = 'x-image-meta-store'

# Characters that could split or forge an HTTP header or a log line.
_UNSAFE = re.compile(r'[\x00-\x20\x7f]')


@dataclasses.dataclass(frozen=True)
class UploadTarget:
    """Where one upload goes, and why."""

    store: typing.Optional[str]  # None: Glance picks (multi-store off)
    reason: str
    base_image_ref: typing.Optional[str] = None
    # The store's stores/detail entry (type, properties), None if unknown:
    # how the upload is framed (upload_framing).
    store_detail: typing.Optional[typing.Dict[str, typing.Any]] = (
        dataclasses.field(default=None, compare=False))
    # Who chose the store, for errors: "flavor m1 extra spec ...".
    source: typing.Optional[str] = dataclasses.field(default=None,
                                                     compare=False)
    # Stores the image is copied to once it is active (image_copies), and
    # who named them.
    copy_to: typing.Tuple[str, ...] = ()
    copy_source: typing.Optional[str] = dataclasses.field(default=None,
                                                          compare=False)

    def headers(self) -> typing.Dict[str, str]:
        """Headers for the upload request of this image only."""
        if self.store is None:
            return {}
        headers = {STORE_HEADER: self.store}
        if self.base_image_ref:
            headers[BASE_IMAGE_REF_HEADER] = self.base_image_ref
        return headers


def is_safe_header_value(value: object) -> bool:
    return isinstance(value, str) and bool(value) and not _UNSAFE.search(
        value) and value.isprintable()


def base_image_ref_of(instance: typing.Any) -> typing.Optional[str]:
    """The image an instance was booted from, or None (volume-backed)."""
    image_ref = getattr(instance, 'image_ref', None) or None
    if isinstance(image_ref, str) and uuidutils.is_uuid_like(image_ref):
        return image_ref
    return None


def _default_target(stores: 'stores_mod.StoreList', reason: str,
                    base_image_ref: typing.Optional[str]) -> UploadTarget:
    default = stores.default
    return UploadTarget(default.id if default else None, reason,
                        base_image_ref)


def resolve_target_store(
        requested: typing.Optional['store_policy.StoreRequest'],
        base_image_ref: typing.Optional[str],
        base_image_stores: typing.Optional[typing.Sequence[str]],
        stores: typing.Optional['stores_mod.StoreList']) -> UploadTarget:
    """Decide the target store of one upload.

    :param requested: a ``store_policy.StoreRequest`` (user, flavor,
        ``[glance] store``), or None when nobody named a store.
    :param base_image_ref: the instance's base image id, or None.
    :param base_image_stores: the ids of the stores holding the base image,
        an empty list when it has none, or None when the base image could
        not be found (deleted, or not visible to the user).
    :param stores: the StoreList from Glance, or None when multi-store is
        off.
    :returns: an UploadTarget; it is not validated here.
    """
    if requested is not None:
        return UploadTarget(requested.store, requested.source,
                            base_image_ref, source=requested.source)
    if stores is None:
        return UploadTarget(None, "multi-store is off in Glance: Glance's "
                            'own choice', base_image_ref)
    if not base_image_ref:
        return _default_target(
            stores, "no base image (volume-backed or unknown): Glance's "
                    'default store', None)
    if base_image_stores is None:
        return _default_target(
            stores, 'base image %s not found: Glance\'s default store' %
            base_image_ref, base_image_ref)
    holding = [s for s in stores.writable if s.id in base_image_stores]
    if not holding:
        return _default_target(
            stores, "base image %s is in no writable store (%s): Glance's "
                    'default store' % (base_image_ref,
                                       ', '.join(base_image_stores) or
                                       'none'), base_image_ref)
    default = stores.default
    if default is not None and default in holding:
        return UploadTarget(
            default.id, "base image %s is in Glance's default store" %
            base_image_ref, base_image_ref)
    return UploadTarget(holding[0].id, 'store of base image %s' %
                        base_image_ref, base_image_ref)
