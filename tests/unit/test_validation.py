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

"""Refusing unusable stores with an error that says why."""

import pytest

from nova_glance_multistore import exception
from nova_glance_multistore.stores import StoreList
from nova_glance_multistore.target import UploadTarget
from nova_glance_multistore import validation

STORES = StoreList.from_api({'stores': [
    {'id': 'fast', 'default': 'true'}, {'id': 'cheap'},
    {'id': 'web', 'read-only': 'true'}]})


@pytest.mark.parametrize('store, reason', [
    ('nowhere', 'not enabled in Glance'),
    ('web', 'read-only'),
    ('os_glance_staging_store', 'reserved'),
    ('bad\r\nX-Evil: 1', 'not a valid store identifier'),
    (' ', 'not a valid store identifier'),
])
def test_refused(store, reason):
    with pytest.raises(exception.StoreRefused) as refused:
        validation.validate_target('img', UploadTarget(store, 'r'), STORES)
    message = str(refused.value)
    assert reason in message
    assert 'Valid stores: fast, cheap.' in message
    assert 'img' in message
    assert '\r' not in message and '\n' not in message
    assert refused.value.code == 400


def test_accepted():
    validation.validate_target('img', UploadTarget('cheap', 'r'), STORES)


def test_multistore_off():
    with pytest.raises(exception.StoreRefused) as refused:
        validation.validate_target('img', UploadTarget('cheap', 'r'), None)
    assert 'multi-store is not enabled' in str(refused.value)
    validation.validate_target('img', UploadTarget(None, 'r'), None)
