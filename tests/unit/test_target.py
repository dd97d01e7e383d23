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

"""The store decision rules, as a pure function."""

import types

from nova_glance_multistore import store_policy
from nova_glance_multistore.stores import StoreList
from nova_glance_multistore import target

STORES = StoreList.from_api({'stores': [
    {'id': 'fast', 'default': 'true'},
    {'id': 'cheap'},
    {'id': 'archive'},
    {'id': 'web', 'read-only': 'true'},
]})
REF = '5c8d1f1e-2a57-4d7b-9d0e-0d7a6b5d1f00'


def resolve(configured=None, ref=REF, base_stores=None, stores=STORES):
    requested = configured and store_policy.StoreRequest(
        configured, 'configured [glance] store')
    return target.resolve_target_store(requested, ref, base_stores, stores)


def test_configured_store_first():
    decision = resolve('archive', base_stores=['cheap'])
    assert decision.store == 'archive'
    assert decision.base_image_ref == REF


def test_base_image_store():
    assert resolve(base_stores=['cheap']).store == 'cheap'


def test_default_preferred_among_base_image_stores():
    assert resolve(base_stores=['cheap', 'fast']).store == 'fast'


def test_first_writable_in_glance_order():
    assert resolve(base_stores=['archive', 'cheap']).store == 'cheap'


def test_read_only_and_reserved_skipped():
    decision = resolve(base_stores=['web', 'os_glance_staging_store'])
    assert decision.store == 'fast'
    assert 'no writable store' in decision.reason


def test_missing_base_image_goes_to_default():
    decision = resolve(base_stores=None)
    assert decision.store == 'fast'
    assert 'not found' in decision.reason


def test_no_base_image_goes_to_default_without_ref_header():
    decision = resolve(ref=None)
    assert decision.store == 'fast'
    assert decision.headers() == {'x-image-meta-store': 'fast'}


def test_multistore_off_sends_no_header():
    decision = resolve(stores=None)
    assert decision.store is None
    assert decision.headers() == {}


def test_headers():
    headers = resolve(base_stores=['cheap']).headers()
    assert headers == {'x-image-meta-store': 'cheap',
                       'X-OpenStack-Base-Image-Ref': REF}


def test_base_image_ref_of():
    assert target.base_image_ref_of(types.SimpleNamespace(
        image_ref=REF)) == REF
    assert target.base_image_ref_of(types.SimpleNamespace(
        image_ref='')) is None
    assert target.base_image_ref_of(types.SimpleNamespace(
        image_ref='not-a-uuid\r\nX: y')) is None
    assert target.base_image_ref_of(object()) is None


def test_header_safety():
    assert target.is_safe_header_value('cheap')
    for bad in ('', ' ', 'a b', 'a\r\nb', 'a\tb', None, 'x\x00'):
        assert not target.is_safe_header_value(bad)
