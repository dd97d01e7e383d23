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

"""The rbd store map and the service-role rule of the ceph-native path."""

import types

from oslo_config import cfg

from nova_glance_multistore import ceph_native
from nova_glance_multistore import rbd_stores
from nova_glance_multistore import store_details

FSID = '8ae43f1f-31db-454f-8373-6055cf34e1bf'


def test_from_stores_detail_keeps_complete_rbd_entries():
    body = {'stores': [
        {'id': 'fast', 'type': 'file', 'properties': {'data_dir': '/x'}},
        {'id': 'r1', 'type': 'rbd',
         'properties': {'pool': 'images', 'fsid': FSID}},
        {'id': 'old', 'type': 'rbd', 'properties': {'pool': 'images'}},
        {'id': 'odd', 'type': 'rbd', 'properties': None},
        'garbage',
    ]}
    assert rbd_stores.from_stores_detail(body) == {
        'r1': rbd_stores.RbdLocation(FSID, 'images')}
    assert rbd_stores.from_stores_detail(None) == {}


def test_from_config_skips_malformed_entries():
    assert rbd_stores.from_config([
        'r1:%s:images' % FSID, 'bad', 'a::b', 'x:y:z:w']) == {
        'r1': rbd_stores.RbdLocation(FSID, 'images')}


def _conf(send_service_user_token):
    conf = cfg.ConfigOpts()
    conf.register_opt(cfg.BoolOpt('send_service_user_token'),
                      group='service_user')
    conf([])
    conf.set_override('send_service_user_token', send_service_user_token,
                      group='service_user')
    return conf


def test_service_role_rule():
    user = types.SimpleNamespace(roles=['member', 'reader'])
    service = types.SimpleNamespace(roles=['member', 'service'])
    assert not ceph_native.can_register_rbd_location(_conf(False), user)
    assert ceph_native.can_register_rbd_location(_conf(True), user)
    assert ceph_native.can_register_rbd_location(_conf(False), service)


class DetailGlance:
    """stores/detail answered per context: a body or an exception."""

    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def stores_info_detail(self, ctxt):
        self.asked.append(ctxt)
        answer = self.answers[ctxt]
        if isinstance(answer, Exception):
            raise answer
        return answer


DETAIL_BODY = {'stores': [{'id': 'r1', 'type': 'rbd', 'properties': {
    'pool': 'images', 'fsid': FSID}}]}


def _store_conf(service_auth, locations=()):
    return types.SimpleNamespace(
        service_user=types.SimpleNamespace(auth_type=service_auth),
        libvirt=types.SimpleNamespace(images_type='rbd', rbd_user='nova'),
        glance_multistore=types.SimpleNamespace(
            stores_cache_ttl=0, rbd_store_locations=list(locations)))


def test_stores_detail_falls_back_to_nova_service_user(monkeypatch):
    monkeypatch.setattr(store_details.glance_client, 'service_context',
                        lambda conf: 'service')
    glance = DetailGlance({'user': PermissionError('403'),
                           'service': DETAIL_BODY})
    assert store_details._fetch_stores_detail(
        _store_conf('password'), glance, 'user') == DETAIL_BODY
    assert glance.asked == ['user', 'service']


def test_stores_detail_unreadable_without_service_user_is_none(monkeypatch):
    glance = DetailGlance({'user': PermissionError('403')})
    assert store_details._fetch_stores_detail(
        _store_conf(None), glance, 'user') is None
    assert glance.asked == ['user']


def test_stores_detail_unreadable_by_both_is_none(monkeypatch):
    monkeypatch.setattr(store_details.glance_client, 'service_context',
                        lambda conf: 'service')
    glance = DetailGlance({'user': PermissionError('403'),
                           'service': ConnectionError('refused')})
    assert store_details._fetch_stores_detail(
        _store_conf('password'), glance, 'user') is None
    assert glance.asked == ['user', 'service']


def test_detail_wins_over_config_for_the_same_store():
    glance = DetailGlance({'user': DETAIL_BODY})
    other = '11111111-2222-3333-4444-555555555555'
    found = rbd_stores.known_locations(
        _store_conf(None, ['r1:%s:old' % other, 'r2:%s:far' % other]),
        glance, 'user')
    assert found == {
        'r1': (rbd_stores.RbdLocation(FSID, 'images'), rbd_stores.DETAIL),
        'r2': (rbd_stores.RbdLocation(other, 'far'), rbd_stores.CONFIG)}
