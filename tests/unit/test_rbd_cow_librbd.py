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

"""How copy-on-write reads its preconditions and clones, librbd faked.

tests/functional/test_ceph_cow.py does this against a real cluster; here
each precondition is broken on purpose, and the clone's refusals (no
write permission, no deep-flatten) and its chain walk are driven.
"""

import types

import pytest

from nova_glance_multistore import rbd_cow
from tests.unit.test_rbd_cow import FAKE_RBD


@pytest.fixture(autouse=True)
def fake_rbd(monkeypatch):
    monkeypatch.setattr(rbd_cow, '_rbd', lambda: FAKE_RBD)


class Rados:
    """A client whose config, osd dump and conf_set are given."""

    def __init__(self, conf, release='pacific', settable=True,
                 mon_ret=0, fail_connect=None):
        self.conf, self.release, self.settable = conf, release, settable
        self.mon_ret, self.fail_connect = mon_ret, fail_connect
        self.shut = 0

    def connect(self, timeout):
        if self.fail_connect:
            raise self.fail_connect

    def shutdown(self):
        self.shut += 1

    def conf_get(self, name):
        return self.conf.get(name)

    def conf_set(self, name, value):
        if not self.settable:
            raise ValueError('unknown option %s' % name)
        self.conf[name] = value

    def mon_command(self, command, inbuf):
        import json
        assert json.loads(command) == {'prefix': 'osd dump',
                                       'format': 'json'}
        return self.mon_ret, json.dumps(
            {'require_osd_release': self.release}).encode(), ''


def _driver():
    return types.SimpleNamespace(rbd_user='nova', ceph_conf='/c.conf',
                                 rbd_connect_timeout=5)


def _patch_rados(monkeypatch, client):
    made = []

    def Rados_(rados_id, conffile, conf):
        made.append((rados_id, conffile, conf))
        return client
    monkeypatch.setattr(rbd_cow, '_rados',
                        lambda: types.SimpleNamespace(Rados=Rados_))
    return made


def test_connect_as_nova_and_shut_down_when_it_fails(monkeypatch):
    client = Rados({}, fail_connect=OSError('timed out'))
    made = _patch_rados(monkeypatch, client)
    with pytest.raises(OSError):
        rbd_cow.connect(_driver(), {'rbd_default_clone_format': '2'})
    assert made == [('nova', '/c.conf', {'rbd_default_clone_format': '2'})]
    assert client.shut == 1


GOOD = {'rbd_default_features': '61',
        'rbd_move_parent_to_trash_on_remove': 'true'}


def _oks(monkeypatch, client):
    _patch_rados(monkeypatch, client)
    checks = rbd_cow.check_preconditions(_driver())
    assert client.shut == 1
    return {p.name: p.ok for p in checks}, checks


def test_all_preconditions_read_as_met(monkeypatch):
    oks, checks = _oks(monkeypatch, Rados(dict(GOOD)))
    assert oks == {'clone format 2': True, 'deep-flatten': True,
                   'rbd_move_parent_to_trash_on_remove': True}
    assert checks[0].describe() == (
        'clone format 2: the cluster requires OSD release pacific; librbd '
        'accepts clone format 2')


@pytest.mark.parametrize('client, missing', [
    (Rados(dict(GOOD), release='luminous'), 'clone format 2'),
    (Rados(dict(GOOD), settable=False), 'clone format 2'),
    (Rados(dict(GOOD, rbd_default_features='layering')), 'deep-flatten'),
    (Rados(dict(GOOD, rbd_move_parent_to_trash_on_remove='false')),
     'rbd_move_parent_to_trash_on_remove'),
    (Rados({'rbd_default_features': '61'}),
     'rbd_move_parent_to_trash_on_remove'),
])
def test_each_missing_precondition_is_named_with_its_fix(monkeypatch,
                                                         client, missing):
    oks, checks = _oks(monkeypatch, client)
    assert [name for name, ok in oks.items() if not ok] == [missing]
    failed = [p for p in checks if not p.ok][0]
    assert failed.fix and failed.fix in failed.describe()


def test_unreadable_osd_release_is_reported_unknown(monkeypatch):
    oks, checks = _oks(monkeypatch, Rados(dict(GOOD), mon_ret=-13))
    assert 'OSD release unknown' in checks[0].detail


class Img:
    """An rbd image with an optional parent (pool, namespace, id, Img)."""

    def __init__(self, features=61, parent=None):
        self._features, self.parent = features, parent
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.closed = True

    def features(self):
        return self._features

    def get_parent_image_spec(self):
        if self.parent is None:
            raise ImageNotFound()
        return {'pool_name': self.parent[0], 'pool_namespace': self.parent[1]}

    def parent_id(self):
        return self.parent[2]


class ImageNotFound(Exception):
    pass


class PermissionError_(Exception):
    pass


class Ioctx:
    def __init__(self, pool):
        self.pool, self.namespace, self.closed = pool, '', False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.closed = True

    def set_namespace(self, namespace):
        self.namespace = namespace


class Cluster:
    """Images by id; a client whose ioctxs are recorded."""

    def __init__(self, images, clone_error=None):
        self.images, self.clone_error = images, clone_error
        self.ioctxs, self.clones, self.shut = [], [], 0

    def open_ioctx(self, pool):
        ioctx = Ioctx(pool)
        self.ioctxs.append(ioctx)
        return ioctx

    def shutdown(self):
        self.shut += 1

    def rbd(self):
        cluster = self

        class RBD:
            def clone(self, src, name, snap, dest, dest_name, features):
                if cluster.clone_error:
                    raise cluster.clone_error
                cluster.clones.append((src.pool, name, snap, dest.pool,
                                       dest_name, features))

        def image(ioctx, name=None, image_id=None, read_only=False):
            assert read_only
            return cluster.images[name or image_id]
        return types.SimpleNamespace(
            RBD=RBD, Image=image, ImageNotFound=ImageNotFound,
            PermissionError=PermissionError_, RBD_FEATURE_DEEP_FLATTEN=32,
            RBD_FEATURE_LAYERING=1)


def _clone(monkeypatch, cluster):
    monkeypatch.setattr(rbd_cow, '_rbd', cluster.rbd)
    asked = []

    def connect(driver, conf=None):
        asked.append(conf)
        cluster.conf_get = {'rbd_default_features': '61'}.get
        return cluster
    monkeypatch.setattr(rbd_cow, 'connect', connect)
    result = rbd_cow._clone(_driver(), 'vms', 'disk', 'nova-snap', 'images',
                            'img')
    assert asked == [{'rbd_default_clone_format': '2'}]
    return result


def test_clone_depth_walks_parents_by_id_through_namespaces(monkeypatch):
    base = Img()
    trashed = Img(parent=('images', '', 'base-id'))
    clone = Img(parent=('vms', 'ns', 'disk-id'))
    cluster = Cluster({'img': clone, 'disk-id': trashed, 'base-id': base})
    assert _clone(monkeypatch, cluster) == 2
    assert cluster.clones == [('vms', 'disk', 'nova-snap', 'images', 'img',
                               61)]
    assert base.closed and trashed.closed and clone.closed
    assert [(i.pool, i.namespace) for i in cluster.ioctxs] == [
        ('vms', ''), ('images', ''), ('vms', 'ns'), ('images', '')]
    assert all(i.closed for i in cluster.ioctxs) and cluster.shut == 1


def test_clone_without_deep_flatten_is_refused(monkeypatch):
    cluster = Cluster({'img': Img(features=1)})
    with pytest.raises(ValueError, match='no deep-flatten'):
        _clone(monkeypatch, cluster)
    assert cluster.shut == 1


def test_clone_into_a_pool_nova_may_not_write_is_forbidden(monkeypatch):
    from nova import exception as nova_exception
    cluster = Cluster({}, clone_error=PermissionError_('EPERM'))
    with pytest.raises(nova_exception.Forbidden, match='pool images'):
        _clone(monkeypatch, cluster)
    assert cluster.shut == 1
