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

"""GlanceFacts over a stand-in for nova's Glance client.

The functional tests ask a real Glance (and a proxy that answers badly);
here each answer shape is handed over on purpose: what is a store list,
what is "multi-store off", which images are kept, which are deleted.
"""

import glanceclient.exc
import pytest

from nova_glance_multistore import exception
from nova_glance_multistore import glance_client


class Client:
    """Answers each (method, controller) with a value or an exception."""

    def __init__(self, **answers):
        self.answers, self.calls = answers, []

    def call(self, context, version, method, controller=None, args=(),
             kwargs=None):
        assert version == 2
        self.calls.append((method, controller, args))
        answer = self.answers[method]
        if isinstance(answer, Exception):
            raise answer
        return answer


def facts(**answers):
    client = Client(**answers)
    return glance_client.GlanceFacts(client=client), client


def test_stores_info_returns_the_body_or_none_when_multistore_is_off():
    body = {'stores': [{'id': 'fast'}]}
    assert facts(get_stores_info=body)[0].stores_info('c') == body
    assert facts(get_stores_info=glanceclient.exc.HTTPNotFound('off'))[
        0].stores_info('c') is None


@pytest.mark.parametrize('error, reason', [
    (glanceclient.exc.HTTPServiceUnavailable('down'), 'HTTP 503: down'),
    (TypeError('odd body'), 'TypeError: odd body'),
])
def test_stores_info_failure_is_a_catalog_error_with_the_reason(error,
                                                                reason):
    with pytest.raises(exception.StoreCatalogUnavailable) as e:
        facts(get_stores_info=error)[0].stores_info('c')
    assert reason in str(e.value)


def test_stores_info_detail_asks_the_detail_call():
    body = {'stores': [{'id': 'r', 'type': 'rbd'}]}
    store_facts, client = facts(get_stores_info_detail=body)
    assert store_facts.stores_info_detail('c') == body
    assert client.calls == [('get_stores_info_detail', None, ())]


@pytest.mark.parametrize('answer, stores', [
    ((None, {'stores': 'fast, cheap'}), ['fast', 'cheap']),
    ((None, {'stores': ['fast', 7]}), ['fast']),
    ((None, {'stores': ''}), []),
    ((None, 'not a dict'), None),
    (glanceclient.exc.HTTPNotFound('gone'), None),
    (glanceclient.exc.HTTPForbidden('private'), None),
])
def test_image_stores_from_a_plain_get(answer, stores):
    store_facts, client = facts(get=answer)
    assert store_facts.image_stores('c', 'img') == stores
    assert client.calls == [('get', 'http_client', ('/v2/images/img',))]


@pytest.mark.parametrize('status, result, deleted', [
    ('queued', 'deleted', True), ('saving', 'deleted', True),
    ('active', 'kept', False), ('killed', 'kept', False)])
def test_only_unfinished_images_are_deleted(status, result, deleted):
    store_facts, client = facts(get=(None, {'status': status}), delete=None)
    assert store_facts.discard_unfinished_image('c', 'img') == result
    assert (('delete', None, ('img',)) in client.calls) == deleted
