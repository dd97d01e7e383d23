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

"""The devstack plugin, run as devstack runs it, against a real Glance.

``devstack/plugin.sh`` runs under ``localenv/devstack_shim.sh`` (the same
path the all-in-one cloud takes): its post-config phase writes
glance-api.conf and nova.conf, a real Glance 33 starts from that
glance-api.conf, and our ``check`` CLI passes on that nova.conf. No
hypervisor is needed.
"""

import os
import subprocess
import sys

from oslo_config import cfg
import pytest

from localenv import devstack
from localenv import glance as glance_env

CLI = [sys.executable, '-m', 'nova_glance_multistore.cli']


class PluginDeployment:
    """A glance-api.conf and nova.conf written by the plugin, and Glance."""

    def __init__(self, tmp_path, **overrides):
        self.files = devstack.DevstackFiles(
            data_dir=str(tmp_path / 'data'),
            nova_conf=str(tmp_path / 'nova.conf'),
            tempest_config=str(tmp_path / 'tempest.conf'),
            overrides=dict({'NGM_NOVA_PYTHON': sys.executable}, **overrides))
        self.glance = glance_env.GlanceServer(
            str(tmp_path / 'glance'), post_config=self.post_config)
        self.files.glance_api_conf = self.glance.conf_path
        # What devstack's lib/nova would have written before the plugin.
        with open(self.files.nova_conf, 'w') as handle:
            handle.write('[glance]\nendpoint_override = %s\n'
                         'num_retries = 0\n' % self.glance.url)

    def post_config(self, conf_path=None):
        devstack.run_phase(self.files, 'stack', 'post-config')

    def settings(self):
        return devstack.settings(self.files)

    def check(self):
        done = subprocess.run(
            CLI + ['--config-file', self.files.nova_conf, 'check'],
            capture_output=True, text=True, timeout=120,
            cwd=os.path.dirname(__file__))
        return done.returncode, done.stdout + done.stderr


def oslo_sections(path):
    """The file as oslo.config parses it: {section: {option: [values]}}."""
    sections = {}
    cfg.ConfigParser(path, sections).parse()
    return sections


@pytest.fixture
def deployment(tmp_path):
    made = []

    def _make(**overrides):
        plugin = PluginDeployment(tmp_path, **overrides)
        made.append(plugin)
        plugin.glance.start()
        return plugin

    yield _make
    for plugin in made:
        plugin.glance.stop()


def test_post_config_starts_glance_and_passes_check(deployment):
    plugin = deployment()
    settings = plugin.settings()
    code, out = plugin.check()
    assert code == 0, out
    assert ('Glance multi-store is on: fast (default), cheap, archive, '
            'web (read-only)') in out
    # Every file store has its own datadir, as configured (devstack's own
    # multi-store code never sets them), and Glance uses it.
    status, detail = plugin.glance.request('GET', '/v2/info/stores/detail')
    assert status == 200, detail
    data_dirs = {s['id']: s['properties'].get('data_dir')
                 for s in detail['stores'] if s['type'] == 'file'}
    assert data_dirs == {
        store: os.path.join(settings['NGM_GLANCE_DATA_DIR'], store)
        for store in ('fast', 'cheap', 'archive')}
    glance_conf = oslo_sections(plugin.files.glance_api_conf)
    assert glance_conf['os_glance_staging_store'][
        'filesystem_store_datadir'] == [os.path.join(
            settings['NGM_GLANCE_DATA_DIR'], 'os_glance_staging')]
    nova_conf = oslo_sections(plugin.files.nova_conf)
    assert nova_conf['DEFAULT']['compute_driver'] == [
        'glance_multistore.LibvirtDriver']
    assert 'store' not in nova_conf['glance']


def test_boot_images_go_to_the_plugins_boot_store(deployment):
    """The plugin's boot store takes uploads and is not the default."""
    plugin = deployment()
    store = plugin.settings()['NGM_BOOT_IMAGE_STORE']
    image = plugin.glance.create_image('boot', b'x' * 1024, store=store)
    assert image['stores'] == store
    assert store != plugin.settings()['NGM_GLANCE_DEFAULT_STORE']


def test_dedicated_store_set_and_undone(deployment):
    plugin = deployment(NGM_SNAPSHOT_STORE='archive')
    assert oslo_sections(plugin.files.nova_conf)['glance']['store'] == [
        'archive']
    code, out = plugin.check()
    assert code == 0, out
    assert "store 'archive' is a writable" in out
    # post-config again without it (as tox -e tempest-aio's second phase
    # does the other way round) removes the option.
    del plugin.files.overrides['NGM_SNAPSHOT_STORE']
    plugin.post_config()
    assert 'store' not in oslo_sections(plugin.files.nova_conf)['glance']
    code, out = plugin.check()
    assert code == 0, out


def test_unusable_dedicated_store_fails_check(deployment):
    plugin = deployment(NGM_SNAPSHOT_STORE='web')
    code, out = plugin.check()
    assert code == 1
    assert 'read-only' in out


def test_test_config_writes_the_tempest_plugin_options(deployment):
    plugin = deployment(NGM_SNAPSHOT_STORE='archive')
    devstack.run_phase(plugin.files, 'stack', 'test-config')
    tempest = oslo_sections(plugin.files.tempest_config)
    assert tempest['service_available']['nova_glance_multistore'] == [
        'True']
    assert tempest['nova_glance_multistore'] == {
        'boot_image_store': ['cheap'], 'dedicated_store': ['archive'],
        'ceph_native': ['False'], 'ceph_native_snapshot': ['flatten'],
        'expected_stores': ['fast,cheap,archive,web'], 'object_stores': [''],
        'cinder_stores': [''], 'site_stores': [''],
        'user_selectable_stores': ['']}


def test_store_policy_lists_set_checked_and_undone(deployment):
    plugin = deployment(NGM_USER_SELECTABLE_STORES='archive',
                        NGM_COPY_TO_STORES='cheap')
    group = oslo_sections(plugin.files.nova_conf)['glance_multistore']
    assert group['user_selectable_stores'] == ['archive']
    assert group['copy_to_stores'] == ['cheap']
    glance_conf = oslo_sections(plugin.files.glance_api_conf)
    assert 'copy-image' in glance_conf['DEFAULT']['enabled_import_methods'][0]
    code, out = plugin.check()
    assert code == 0, out
    assert "user_selectable_stores: 'archive' is a writable" in out
    assert "copy_to_stores: 'cheap' is a writable" in out
    devstack.run_phase(plugin.files, 'stack', 'test-config')
    tempest = oslo_sections(plugin.files.tempest_config)
    assert tempest['nova_glance_multistore']['user_selectable_stores'] == [
        'archive']
    for name in ('NGM_USER_SELECTABLE_STORES', 'NGM_COPY_TO_STORES'):
        del plugin.files.overrides[name]
    plugin.post_config()
    group = oslo_sections(plugin.files.nova_conf)['glance_multistore']
    assert group['user_selectable_stores'] == group['copy_to_stores'] == ['']


def test_default_store_as_boot_store_is_refused(tmp_path):
    plugin = PluginDeployment(tmp_path, NGM_BOOT_IMAGE_STORE='fast')
    with pytest.raises(RuntimeError, match='other than the default'):
        plugin.post_config()


def test_clean_removes_the_data_it_created(deployment):
    plugin = deployment()
    data_dir = plugin.settings()['NGM_GLANCE_DATA_DIR']
    plugin.glance.stop()
    assert os.path.isdir(os.path.join(data_dir, 'cheap'))
    devstack.run_phase(plugin.files, 'clean')
    assert not os.path.exists(data_dir)


def _devstack_plugin_ceph_cluster(workdir, name):
    """A cluster as devstack-plugin-ceph leaves it: Glance's user and pool.

    Its ``_ceph_configure_glance`` caps, on its GLANCE_CEPH_POOL only.
    """
    from localenv import ceph as ceph_env
    cluster = ceph_env.CephCluster(str(workdir / 'c'), name)
    os.makedirs(cluster.workdir)
    cluster.start()
    cluster.create_pool('glance-images')
    cluster.create_user('glance', {
        'mon': 'allow r', 'osd': 'allow class-read object_prefix '
                                 'rbd_children, allow rwx pool=glance-images'})
    return cluster


@pytest.fixture(scope='module')
def plugin_ceph(tmp_path_factory, real_ceph):
    cluster = _devstack_plugin_ceph_cluster(
        tmp_path_factory.mktemp('plugin-ceph'), 'plugin')
    yield cluster
    cluster.stop()


@pytest.fixture(scope='module')
def site_ceph(tmp_path_factory, real_ceph):
    """Another site's cluster, made by that site's devstack-plugin-ceph."""
    cluster = _devstack_plugin_ceph_cluster(
        tmp_path_factory.mktemp('site-ceph'), 'site')
    yield cluster
    cluster.stop()


def _caps(cluster, user):
    return cluster._ceph('auth', 'get', 'client.%s' % user)[0]['caps']


def _plugin_on_ceph(tmp_path, cluster, **overrides):
    plugin = PluginDeployment(
        tmp_path, CEPH_CONF_FILE=cluster.conf, GLANCE_CEPH_USER='glance',
        GLANCE_CEPH_POOL='glance-images', NGM_SNAPSHOT_STORE='robust',
        CINDER_CEPH_USER='cinder', **overrides)
    plugin.files.plugins = ('devstack-plugin-ceph', 'nova-glance-multistore')
    os.makedirs(os.path.dirname(plugin.files.glance_api_conf))
    # What devstack-plugin-ceph's configure_ceph_nova writes.
    with open(plugin.files.nova_conf, 'a') as handle:
        handle.write('[libvirt]\nimages_type = rbd\nimages_rbd_pool = vms\n'
                     'rbd_user = cinder\n')
    return plugin


def test_with_devstack_plugin_ceph_and_rbd_disks(tmp_path, plugin_ceph):
    """As on top of devstack-plugin-ceph with ``images_type = rbd``.

    Glance shows direct_url, its user may write the rbd stores' pool (made
    by the plugin), nova learns the stores' cluster from ceph.conf's fsid,
    and tempest expects flattened ceph-native snapshots.
    """
    plugin = _plugin_on_ceph(tmp_path, plugin_ceph)
    plugin.post_config()
    devstack.run_phase(plugin.files, 'stack', 'test-config')
    glance = oslo_sections(plugin.files.glance_api_conf)
    assert glance['DEFAULT']['show_image_direct_url'] == ['True']
    assert glance['robust']['rbd_store_pool'] == ['images']
    assert 'images' in plugin_ceph._ceph('osd', 'pool', 'ls')
    assert _caps(plugin_ceph, 'glance') == {
        'mon': 'allow r', 'osd': 'allow class-read object_prefix '
                                 'rbd_children, allow rwx pool=glance-images, '
                                 'allow rwx pool=images'}
    nova = oslo_sections(plugin.files.nova_conf)
    assert nova['glance_multistore']['rbd_store_locations'] == [
        'robust:%s:images' % plugin_ceph.fsid]
    assert nova['glance_multistore']['ceph_native_snapshot'] == ['flatten']
    tempest = oslo_sections(plugin.files.tempest_config)
    assert tempest['nova_glance_multistore']['ceph_native'] == ['True']
    assert tempest['nova_glance_multistore']['ceph_native_snapshot'] == [
        'flatten']
    assert tempest['nova_glance_multistore']['dedicated_store'] == [
        'robust']


def test_rbd_store_on_another_sites_cluster(tmp_path, plugin_ceph,
                                            site_ceph):
    """``id:pool:ceph.conf``: a store on another site's cluster.

    Glance reads it through that cluster's ceph.conf; its pool is made
    there (not on devstack-plugin-ceph's cluster) and Glance's user there
    granted it; nova learns its cluster from that ceph.conf's fsid; tempest
    gets the sites.
    """
    plugin = _plugin_on_ceph(
        tmp_path, plugin_ceph,
        NGM_GLANCE_RBD_STORES='robust:images,edge:edge-images:%s'
                              % site_ceph.conf,
        NGM_SITE_STORES='central:robust,edge-1:edge')
    plugin.post_config()
    devstack.run_phase(plugin.files, 'stack', 'test-config')
    glance = oslo_sections(plugin.files.glance_api_conf)
    assert glance['edge']['rbd_store_ceph_conf'] == [site_ceph.conf]
    assert glance['edge']['rbd_store_pool'] == ['edge-images']
    assert glance['robust']['rbd_store_ceph_conf'] == [plugin_ceph.conf]
    assert 'robust:rbd, edge:rbd' in glance['DEFAULT']['enabled_backends'][0]
    assert 'edge-images' in site_ceph._ceph('osd', 'pool', 'ls')
    assert 'edge-images' not in plugin_ceph._ceph('osd', 'pool', 'ls')
    assert 'images' not in site_ceph._ceph('osd', 'pool', 'ls')
    assert _caps(site_ceph, 'glance')['osd'] == (
        'allow class-read object_prefix rbd_children, allow rwx '
        'pool=glance-images, allow rwx pool=edge-images')
    assert 'edge-images' not in _caps(plugin_ceph, 'glance')['osd']
    nova = oslo_sections(plugin.files.nova_conf)
    assert nova['glance_multistore']['rbd_store_locations'] == [
        'robust:%s:images,edge:%s:edge-images' % (plugin_ceph.fsid,
                                                  site_ceph.fsid)]
    tempest = oslo_sections(plugin.files.tempest_config)
    assert tempest['nova_glance_multistore']['site_stores'] == [
        'central:robust,edge-1:edge']


def test_copy_on_write_mode_sets_up_ceph_for_it(tmp_path, plugin_ceph):
    """Trash on remove for nova's user, nova's pool writable by Glance's.

    Twice, as devstack may run post-config again: nothing is added twice.
    """
    plugin = _plugin_on_ceph(tmp_path, plugin_ceph,
                             NGM_CEPH_NATIVE_SNAPSHOT='copy-on-write',
                             NGM_COW_MAX_CHAIN_DEPTH='3')
    try:
        plugin.post_config()
        plugin.post_config()
        devstack.run_phase(plugin.files, 'stack', 'test-config')
        assert _caps(plugin_ceph, 'glance')['osd'] == (
            'allow class-read object_prefix rbd_children, allow rwx '
            'pool=glance-images, allow rwx pool=images, allow rwx pool=vms')
        assert plugin_ceph._ceph(
            'config', 'get', 'client.cinder',
            'rbd_move_parent_to_trash_on_remove') is True
        nova = oslo_sections(plugin.files.nova_conf)['glance_multistore']
        assert nova['ceph_native_snapshot'] == ['copy-on-write']
        assert nova['copy_on_write_max_chain_depth'] == ['3']
        tempest = oslo_sections(plugin.files.tempest_config)
        assert tempest['nova_glance_multistore']['ceph_native_snapshot'] == [
            'copy-on-write']
    finally:
        plugin_ceph.config_rm('client.cinder',
                              'rbd_move_parent_to_trash_on_remove')


def test_unknown_snapshot_mode_is_refused(tmp_path, plugin_ceph):
    plugin = _plugin_on_ceph(tmp_path, plugin_ceph,
                             NGM_CEPH_NATIVE_SNAPSHOT='instant')
    with pytest.raises(RuntimeError) as e:
        plugin.post_config()
    assert ('NGM_CEPH_NATIVE_SNAPSHOT=instant is neither flatten nor '
            'copy-on-write') in str(e.value)
