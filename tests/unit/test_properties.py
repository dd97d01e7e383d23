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

"""Property-based checks: no store id, image ref or store list answer
crashes the decision, forges a header, or slips past validation."""

from hypothesis import given
from hypothesis import strategies as st
import pytest

from nova_glance_multistore import exception
from nova_glance_multistore.stores import StoreList
from nova_glance_multistore import target
from nova_glance_multistore import validation

STORES = StoreList.from_api({'stores': [
    {'id': 'fast', 'default': 'true'}, {'id': 'cheap'},
    {'id': 'web', 'read-only': 'true'}]})

store_ids = st.one_of(
    st.text(max_size=300),
    st.sampled_from(['', ' ', '\r\n', 'fast\r\nX-Evil: 1', 'os_glance_x',
                     'os_glance_staging_store', 'caf\u00e9', 'a' * 5000,
                     'web', 'cheap', 'fast']))


@given(store_ids)
def test_any_configured_store_is_accepted_only_when_writable(store_id):
    upload_target = target.UploadTarget(store_id, 'configured')
    try:
        validation.validate_target('img', upload_target, STORES)
    except exception.StoreRefused as refused:
        message = str(refused)
        assert '\r' not in message and '\n' not in message
        assert 'Valid stores: fast, cheap.' in message
        assert store_id not in ('fast', 'cheap')
    else:
        assert store_id in ('fast', 'cheap')
        headers = upload_target.headers()
        assert headers == {'x-image-meta-store': store_id}


@given(st.text(max_size=100))
def test_image_refs_never_reach_a_header_unless_uuids(image_ref):
    class Instance:
        pass
    instance = Instance()
    instance.image_ref = image_ref
    ref = target.base_image_ref_of(instance)
    if ref is not None:
        assert target.is_safe_header_value(ref)
        assert len(ref.replace('-', '')) == 32


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=10), children, max_size=4), max_leaves=20)


@given(st.one_of(json_values, st.fixed_dictionaries(
    {'stores': st.lists(st.dictionaries(
        st.sampled_from(['id', 'default', 'read-only', 'description', 'x']),
        json_values, max_size=5), max_size=5)})))
def test_store_list_answers_parse_or_fail_clearly(body):
    try:
        stores = StoreList.from_api(body)
    except exception.StoreCatalogUnavailable as e:
        assert "store list" in str(e)
        return
    for store in stores.stores:
        assert isinstance(store.id, str) and store.id
    decision = target.resolve_target_store(
        None, '5c8d1f1e-2a57-4d7b-9d0e-0d7a6b5d1f00', [], stores)
    if decision.store is not None:
        assert stores.find(decision.store) is not None


@pytest.mark.parametrize('value', ['a\r\nb', 'a\nb', 'a\x00', 'a b', ''])
def test_header_values_with_separators_are_unsafe(value):
    assert not target.is_safe_header_value(value)
