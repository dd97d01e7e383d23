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

"""The all-in-one cloud's two sites: what the plugin and tempest are told."""

import configparser

from localenv import cloud as cloud_env
from localenv import cloud_nova
from localenv import cloud_sites


def _cloud(tmp_path, ceph=True, **state):
    cloud = cloud_env.Cloud(str(tmp_path), ceph=ceph)
    cloud.state = dict({'processes': [], 'urls': {}}, **state)
    return cloud


def test_each_site_store_on_its_own_cluster(tmp_path):
    cloud = _cloud(tmp_path, ceph_conf='/c0/ceph.conf',
                   site_ceph_confs={'site-1': '/c1/ceph.conf'})
    assert cloud.site_variables() == {
        'NGM_GLANCE_RBD_STORES':
            'ceph-0:images:/c0/ceph.conf,ceph-1:images:/c1/ceph.conf'}
    assert cloud.site_stores() == 'site-0:ceph-0,site-1:ceph-1'
    assert cloud.default_zone() == 'site-0'
    # What the plugin is given, and how the cloud reads it back.
    cloud.plugin = {'NGM_GLANCE_RBD_STORES': cloud.site_variables()[
        'NGM_GLANCE_RBD_STORES']}
    assert cloud.rbd_stores() == {'ceph-0': ('images', '/c0/ceph.conf'),
                                  'ceph-1': ('images', '/c1/ceph.conf')}


def test_an_entry_without_ceph_conf_is_on_the_clouds_cluster(tmp_path):
    cloud = _cloud(tmp_path, ceph_conf='/c0/ceph.conf')
    cloud.plugin = {'NGM_GLANCE_RBD_STORES': 'robust:images,far:p:/f.conf'}
    assert cloud.rbd_stores() == {'robust': ('images', '/c0/ceph.conf'),
                                  'far': ('p', '/f.conf')}
    assert cloud.site_variables() == {}


def test_no_ceph_no_sites(tmp_path):
    cloud = _cloud(tmp_path, ceph=False)
    assert cloud.default_zone() is None
    assert not cloud.sites_enabled()


def test_the_subnode_has_its_own_files_and_services(tmp_path):
    cloud = _cloud(tmp_path, ceph_conf='/c0/ceph.conf',
                   site_ceph_confs={'site-1': '/c1/ceph.conf'})
    site = cloud_sites.SITES[1]
    files = cloud.devstack_files(compute=site.compute,
                                 NGM_SNAPSHOT_STORE=site.store)
    assert files.nova_conf == cloud.nova_conf_of(site.compute)
    assert files.nova_conf != cloud.nova_conf
    assert files.services == cloud_sites.SUBNODE_SERVICES
    assert files.overrides['NGM_SNAPSHOT_STORE'] == 'ceph-1'
    assert cloud.devstack_files().services != cloud_sites.SUBNODE_SERVICES
    assert cloud.compute_log(site.compute) != cloud.compute_log()


def test_nova_conf_per_host(tmp_path):
    class Queue:
        transport_url = 'rabbit://u:p@127.0.0.1:1/'

    class Database:
        def url(self, name):
            return 'mysql+pymysql://u:p@127.0.0.1:2/%s' % name

    cloud = _cloud(tmp_path)
    cloud.mq, cloud.db, cloud.venv = Queue(), Database(), '/venv'
    cloud._authtoken = cloud._client_auth = lambda *a: {}
    sections = {}
    for compute in (cloud_nova.CONTROLLER, cloud_sites.SITES[1].compute):
        cloud._write_nova_conf(compute)
        parser = configparser.RawConfigParser()
        parser.read(cloud.nova_conf_of(compute))
        sections[compute.host] = parser
    controller = sections[cloud_nova.HOST]['DEFAULT']
    subnode = sections['ngm-site-1']['DEFAULT']
    assert controller['default_schedule_zone'] == 'site-0'
    assert 'default_schedule_zone' not in subnode
    for option in ('host', 'state_path', 'instances_path'):
        assert controller[option] != subnode[option]
    assert (sections[cloud_nova.HOST]['oslo_concurrency']['lock_path'] !=
            sections['ngm-site-1']['oslo_concurrency']['lock_path'])


def test_cinder_only_when_the_cloud_runs_it(tmp_path):
    without = _cloud(tmp_path / 'a', ceph_conf='/c0/ceph.conf',
                     urls={'identity': 'http://127.0.0.1:1/v3'})
    assert not without.has_cinder()
    assert without.cinder_variables() == {}
    assert without.cinder_nova_conf() == {}
    assert without.plugin_cinder_stores() == []
    files = without.devstack_files()
    assert 'c-vol' not in files.services
    assert 'NGM_GLANCE_CINDER_STORES' not in files.overrides

    cloud = _cloud(tmp_path / 'b', ceph_conf='/c0/ceph.conf',
                   urls={'identity': 'http://127.0.0.1:1/v3',
                         'volume': 'http://127.0.0.1:2/v3'})
    variables = cloud.cinder_variables()
    assert variables['NGM_GLANCE_CINDER_STORES'] == (
        'cinder-fast:glance-fast,cinder-slow:glance-slow')
    assert variables['KEYSTONE_SERVICE_URI'] == 'http://127.0.0.1:1'
    files = cloud.devstack_files()
    assert {'c-api', 'c-sch', 'c-vol'} <= set(files.services)
    assert files.overrides['NGM_GLANCE_CINDER_STORES'] == variables[
        'NGM_GLANCE_CINDER_STORES']
    cloud.plugin = {'NGM_GLANCE_CINDER_STORES': variables[
        'NGM_GLANCE_CINDER_STORES']}
    assert cloud.plugin_cinder_stores() == ['cinder-fast', 'cinder-slow']
