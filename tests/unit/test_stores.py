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

"""Parsing and caching Glance's store list."""

import pytest

from nova_glance_multistore import exception
from nova_glance_multistore import stores


def test_parse_flags_and_order():
    parsed = stores.StoreList.from_api({'stores': [
        {'id': 'a', 'description': 'A'},
        {'id': 'b', 'default': 'true'},
        {'id': 'c', 'read-only': 'true'},
        {'id': 'd', 'default': True, 'read-only': 'false'},
    ]})
    assert [s.id for s in parsed.stores] == ['a', 'b', 'c', 'd']
    assert parsed.default.id == 'b'
    assert parsed.find('c').read_only
    assert parsed.writable_ids() == ['a', 'b', 'd']
    assert parsed.find('zzz') is None


@pytest.mark.parametrize('body', [
    None, [], 'x', {}, {'stores': None}, {'stores': [1]},
    {'stores': [{'id': 3}]}, {'stores': [{'id': ''}]},
    {'stores': [{'description': 'no id'}]},
    {'stores': [{'id': 'a'}, {'id': 'a'}]},
])
def test_malformed_answers_are_errors(body):
    with pytest.raises(exception.StoreCatalogUnavailable):
        stores.StoreList.from_api(body)


def test_reserved_is_not_writable():
    store = stores.Store('os_glance_tasks_store')
    assert store.reserved and not store.writable


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_catalog_caches_for_ttl():
    calls = []
    clock = Clock()

    def fetch(context):
        calls.append(context)
        return {'stores': [{'id': 'a', 'default': 'true'}]}

    catalog = stores.StoreCatalog(fetch, ttl=60, clock=clock)
    assert catalog.get('ctx').default.id == 'a'
    clock.now = 59
    catalog.get('ctx')
    assert len(calls) == 1
    clock.now = 61
    catalog.get('ctx')
    assert len(calls) == 2
    catalog.invalidate()
    catalog.get('ctx')
    assert len(calls) == 3


def test_catalog_caches_multistore_off():
    calls = []
    catalog = stores.StoreCatalog(lambda c: calls.append(c), ttl=60,
                                  clock=Clock())
    assert catalog.get('ctx') is None
    assert catalog.get('ctx') is None
    assert len(calls) == 1


def test_catalog_ttl_zero_always_asks():
    calls = []

    def fetch(context):
        calls.append(1)
        return {'stores': []}

    catalog = stores.StoreCatalog(fetch, ttl=0, clock=Clock())
    catalog.get(None)
    catalog.get(None)
    assert len(calls) == 2


def test_v3_catalog_becomes_the_v2_shape_nova_reads():
    from nova_glance_multistore import glance_client
    v3 = [{'type': 'image', 'name': 'glance', 'endpoints': [
        {'interface': 'public', 'region_id': 'R1', 'url': 'http://pub'},
        {'interface': 'internal', 'region_id': 'R1', 'url': 'http://int'},
        {'interface': 'public', 'region_id': 'R2', 'url': 'http://r2'}]}]
    assert glance_client.v2_catalog(v3) == [{
        'type': 'image', 'name': 'glance', 'endpoints': [
            {'region': 'R1', 'publicURL': 'http://pub',
             'internalURL': 'http://int'},
            {'region': 'R2', 'publicURL': 'http://r2'}]}]
    v2 = [{'type': 'image', 'endpoints': [{'publicURL': 'http://x'}]}]
    assert glance_client.v2_catalog(v2) == v2


def test_one_flag_reading_for_nova_and_tempest():
    # The tempest plugin read flags with bool(value) before: it took the
    # number 1 for true where nova-compute's side did not.
    from nova_glance_multistore.tempest_plugin import store_info
    listed = [{'id': 'a', 'default': 1}, {'id': 'b', 'default': 'True '}]
    assert store_info.default_store(listed) == 'b'
    assert stores.StoreList.from_api({'stores': listed}).default.id == 'b'
