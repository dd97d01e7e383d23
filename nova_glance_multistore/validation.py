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

"""Refuse a target store before any byte moves.

Glance itself accepts a reserved ``os_glance_*`` id and only refuses an
unknown or read-only store after nova has paused the guest and read the
disk; we refuse all three up front, from the store list.
"""

import typing

from nova_glance_multistore import exception
from nova_glance_multistore import glance_flags
from nova_glance_multistore import stores as stores_mod
from nova_glance_multistore import target as target_mod


def printable(value: object) -> str:
    """A store id as it may appear in a log line or an error message."""
    return repr(value) if not target_mod.is_safe_header_value(value) else \
        "'%s'" % value


def refusal_reason(store_id: object,
                   stores: typing.Optional[stores_mod.StoreList]
                   ) -> typing.Optional[str]:
    """Why ``store_id`` cannot take an upload, or None when it can."""
    if stores is None:
        return ('multi-store is not enabled in Glance (GET /v2/info/stores '
                'answered 404)')
    if not target_mod.is_safe_header_value(store_id):
        return 'it is not a valid store identifier'
    if glance_flags.is_reserved(store_id):
        return "it is reserved for Glance's internal use"
    store = stores.find(store_id)
    if store is None:
        return 'it is not enabled in Glance'
    if store.read_only:
        return 'it is read-only'
    return None


def valid_store_ids(stores: typing.Optional[stores_mod.StoreList]) -> str:
    if stores is None:
        return 'none (multi-store is off)'
    return ', '.join(stores.writable_ids()) or 'none'


def store_finding(label: str, store_id: object,
                  stores: typing.Optional[stores_mod.StoreList],
                  role: typing.Optional[str] = None
                  ) -> typing.Tuple[bool, str]:
    """A start-up check's (ok, message) on a store nova.conf names."""
    reason = refusal_reason(store_id, stores)
    if reason is not None:
        return (False, '%s %s is unusable: %s. Valid stores: %s' % (
            label, printable(store_id), reason, valid_store_ids(stores)))
    return (True, '%s %s is a writable Glance store%s' % (
        label, printable(store_id), ' (%s)' % role if role else ''))


def validate_target(image_id: str, upload_target: target_mod.UploadTarget,
                    stores: typing.Optional[stores_mod.StoreList]) -> None:
    """Raise StoreRefused unless the target can take the upload.

    A target without a store (multi-store off, nothing configured) is
    nova's own behaviour and always passes.
    """
    if upload_target.store is None:
        return
    reason = refusal_reason(upload_target.store, stores)
    if reason is not None:
        raise exception.StoreRefused(
            image_id=image_id, store=printable(upload_target.store),
            source=upload_target.source or upload_target.reason,
            reason=reason, valid_stores=valid_store_ids(stores))
