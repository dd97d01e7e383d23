"""The rbd store map and the service-role rule of the ceph-native path."""

import types

from oslo_config import cfg

from nova_glance_multistore import ceph_native
from nova_glance_multistore import rbd_stores

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
