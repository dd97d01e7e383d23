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

"""What ceph-native snapshots reuse: stores/detail and the service token."""

import threading

from oslo_config import cfg

from nova_glance_multistore import glance_client
from nova_glance_multistore import opts
from nova_glance_multistore import rbd_stores
from nova_glance_multistore import store_details
from nova_glance_multistore import ttl_cache

DETAIL = {'stores': [{'id': 'ceph', 'type': 'rbd',
                      'properties': {'fsid': 'F', 'pool': 'images'}}]}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class CountingGlance:
    def __init__(self):
        self.lock = threading.Lock()
        self.fetches = 0

    def stores_info_detail(self, context):
        with self.lock:
            self.fetches += 1
        return DETAIL


def make_conf(ttl):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf.register_group(cfg.OptGroup('service_user'))
    conf.register_opt(cfg.StrOpt('auth_type'), group='service_user')
    conf([])
    conf.set_override('stores_cache_ttl', ttl, group='glance_multistore')
    return conf


def test_stores_detail_is_fetched_once_per_ttl_by_concurrent_snapshots():
    clock = Clock()
    conf, glance = make_conf(60), CountingGlance()
    store_details._DETAIL_CACHES[glance] = ttl_cache.TtlCache(clock)
    expected = {'ceph': (rbd_stores.RbdLocation('F', 'images'),
                         rbd_stores.DETAIL)}
    assert rbd_stores.known_locations(conf, glance, 'ctx') == expected
    results = []
    start = threading.Barrier(16)

    def snapshot():
        start.wait()
        results.append(rbd_stores.known_locations(conf, glance, 'ctx'))
    threads = [threading.Thread(target=snapshot) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert glance.fetches == 1
    assert results == [expected] * 16
    clock.now += 60
    assert rbd_stores.known_locations(conf, glance, 'ctx') == expected
    assert glance.fetches == 2


def test_ttl_zero_asks_every_time_and_failures_are_not_cached():
    conf, glance = make_conf(0), CountingGlance()
    rbd_stores.known_locations(conf, glance, 'ctx')
    rbd_stores.known_locations(conf, glance, 'ctx')
    assert glance.fetches == 2

    class Failing(CountingGlance):
        def stores_info_detail(self, context):
            super().stores_info_detail(context)
            raise IOError('glance down')
    conf, glance = make_conf(60), Failing()
    assert rbd_stores.known_locations(conf, glance, 'ctx') == {}
    assert rbd_stores.known_locations(conf, glance, 'ctx') == {}
    assert glance.fetches == 2


class FakeAccess:
    auth_token = 'token'
    user_id = 'nova'
    project_id = 'service'
    role_names = ['service']
    service_catalog = None


class FakePlugin:
    def __init__(self, loads):
        self.loads = loads

    def get_access(self, session):
        return FakeAccess()


def test_service_user_auth_is_loaded_once_per_configuration(monkeypatch):
    from keystoneauth1 import loading as ks_loading

    conf = make_conf(60)
    ks_loading.register_session_conf_options(conf, 'service_user')
    conf.set_override('auth_type', 'password', group='service_user')
    loads = []

    def load_auth(conf, group):
        loads.append(conf.service_user.auth_url)
        return FakePlugin(loads)
    monkeypatch.setattr(ks_loading, 'load_auth_from_conf_options', load_auth)
    monkeypatch.setattr(ks_loading, 'load_session_from_conf_options',
                        lambda conf, group, auth: object())
    # Registered as keystoneauth's loader registers them.
    glance_client.service_context(conf)
    conf.set_override('auth_url', 'http://keystone-a', group='service_user')
    first = glance_client.service_context(conf)
    second = glance_client.service_context(conf)
    assert loads == [None, 'http://keystone-a']
    assert first is not second and first.auth_token == 'token'
    conf.set_override('auth_url', 'http://keystone-b', group='service_user')
    glance_client.service_context(conf)
    assert loads == [None, 'http://keystone-a', 'http://keystone-b']
