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

"""Ceph for ``localenv.cloud``, and its devstack-plugin-ceph emulation.

The cluster (one mon, one OSD) with devstack-plugin-ceph's Glance pool and
user, and what devstack-plugin-ceph does for nova's rbd instance disks; the
``DEVSTACK_PLUGIN_CEPH_*`` variables are those that plugin would set.
"""

import os

from localenv import ceph as ceph_env
from localenv import cloud_nova
from localenv import common
from localenv import devstack
from localenv import keystone as keystone_env
from localenv import libvirt as libvirt_env
from localenv import rgw as rgw_env

# devstack-plugin-ceph's variables for nova's rbd disks (its defaults,
# except the cephx user: devstack-plugin-ceph gives nova cinder's user;
# there is no cinder here, so nova gets a user of its own).
DEVSTACK_PLUGIN_CEPH_NOVA = {
    'NOVA_CEPH_POOL': 'vms',
    'CINDER_CEPH_USER': 'nova',
    'CINDER_CEPH_UUID': '6d2f5a3e-0f5b-4c7e-9a2b-4e1c2b7d9f10',
}
# devstack-plugin-ceph's Glance user and pool (its _ceph_configure_glance
# caps: that pool only; our plugin grants the rest it needs).
DEVSTACK_PLUGIN_CEPH_GLANCE = {
    'GLANCE_CEPH_USER': 'glance',
    'GLANCE_CEPH_POOL': 'images',
}
# What devstack-plugin-ceph's configure_ceph_nova writes to $NOVA_CONF
# (post-config), in the shim's iniset: rbd instance disks.
DEVSTACK_PLUGIN_CEPH_NOVA_CONF = '''
iniset $NOVA_CONF libvirt rbd_user "$CINDER_CEPH_USER"
iniset $NOVA_CONF libvirt rbd_secret_uuid "$CINDER_CEPH_UUID"
iniset $NOVA_CONF libvirt inject_key false
iniset $NOVA_CONF libvirt inject_partition -2
iniset $NOVA_CONF libvirt disk_cachemodes "network=writeback"
iniset $NOVA_CONF libvirt images_type rbd
iniset $NOVA_CONF libvirt images_rbd_pool "$NOVA_CEPH_POOL"
iniset $NOVA_CONF libvirt images_rbd_ceph_conf "$CEPH_CONF_FILE"
'''


# The seed's object stores, on RGW (as devstack-plugin-ceph's
# ENABLE_CEPH_RGW gives), and the file stores beside them renamed so that
# fast and cheap are the S3 ones.
OBJECT_STORES = {
    'NGM_GLANCE_FILE_STORES': 'reliable,cold,archive',
    'NGM_GLANCE_DEFAULT_STORE': 'reliable',
    'NGM_BOOT_IMAGE_STORE': 'cold',
    'NGM_GLANCE_S3_STORES': 'fast,cheap',
    'NGM_GLANCE_SWIFT_STORES': 'swift-0',
}


class CephMixin:
    """The steps "Ceph (rbd stores)", "Ceph RGW", nova's rbd disks."""

    def _rgw(self):
        """radosgw on the cluster: S3, and Swift behind keystone."""
        if not self.ceph or rgw_env.missing_reason():
            common.log('cloud: no Ceph RGW here (%s): no object stores' % (
                rgw_env.missing_reason() or 'no Ceph'))
            return
        gateway = rgw_env.RadosGateway(self.ceph_cluster, self.keystone)
        self.component('radosgw', gateway)
        self.state['urls']['object-store'] = gateway.url
        self.save_state()
        # The plugin's settings with the object stores in.
        self.plugin = devstack.settings(self.devstack_files())

    def plugin_object_stores(self):
        """The S3 and Swift store ids the plugin configured, in order."""
        if not self.state['urls'].get('object-store'):
            return []
        return [store for name in ('NGM_GLANCE_S3_STORES',
                                   'NGM_GLANCE_SWIFT_STORES')
                for store in self.plugin[name].split(',') if store]

    def object_store_variables(self):
        """What devstack-plugin-ceph's RGW and devstack give the plugin."""
        if not self.state['urls'].get('object-store'):
            return {}
        return dict(OBJECT_STORES,
                    NGM_S3_ENDPOINT=self.state['urls']['object-store'],
                    SERVICE_PASSWORD=keystone_env.service_password('glance'),
                    SERVICE_PROJECT_NAME='service',
                    KEYSTONE_SERVICE_URI=self.state['urls']['identity'][
                        :-len('/v3')])

    def _ceph(self):
        """Each site's cluster (one mon, one OSD) and its Glance pool."""
        if not self.ceph:
            common.log('cloud: no Ceph here (%s): file and http stores only'
                       % (ceph_env.missing_reason() or 'disabled'))
            return
        self.ceph_cluster = self.start_cluster('ceph')
        self.state['ceph_conf'] = self.ceph_cluster.conf
        self.save_state()
        self.start_site_clusters()
        # The plugin's settings with each site's rbd store in.
        self.plugin = devstack.settings(self.devstack_files())

    def start_cluster(self, name):
        """A cluster in ``name/``, with devstack-plugin-ceph's Glance part.

        msgr v1 and a mgr: what nova's rbd image backend needs (phase 3 of
        tempest-aio), see CephCluster. Then devstack-plugin-ceph's
        _ceph_configure_glance (its pool and user); our plugin's
        post-config makes the rbd stores' other pools, if any.
        """
        cluster = ceph_env.CephCluster(self.path(name), msgr1=True, mgr=True)
        prefix = '' if name == 'ceph' else name + ' '
        self.component(name, cluster, pids=lambda c: [
            (prefix + os.path.basename(p.args[0]), p.pid)
            for p in c.processes])
        glance_pool = DEVSTACK_PLUGIN_CEPH_GLANCE['GLANCE_CEPH_POOL']
        cluster.create_pool(glance_pool)
        cluster.create_user(DEVSTACK_PLUGIN_CEPH_GLANCE['GLANCE_CEPH_USER'], {
            'mon': 'allow r',
            'osd': 'allow class-read object_prefix rbd_children, '
                   'allow rwx pool=%s' % glance_pool})
        return cluster

    def rbd_stores(self):
        """``{store: (pool, ceph.conf)}`` of the plugin's rbd stores."""
        stores = {}
        for entry in filter(None, self.plugin[
                'NGM_GLANCE_RBD_STORES'].split(',')):
            store, pool = entry.split(':', 1)
            pool, _, conf = pool.partition(':')
            stores[store] = (pool, conf or self.state['ceph_conf'])
        return stores

    def emulate_devstack_plugin_ceph_nova(self, compute=None, cluster=None,
                                          secret_uuid=None):
        """Do devstack-plugin-ceph's job for nova's rbd instance disks.

        On ``compute`` (default: the controller's host) with ``cluster``
        (default: the controller's). As its ``configure_ceph`` (the nova
        pool and the cephx user nova and libvirt use),
        ``import_libvirt_secret_ceph`` (a libvirt secret holding that
        user's key, ``rbd_secret_uuid``) and ``configure_ceph_nova``
        (``[libvirt] images_type = rbd`` and the rest, into the host's
        ``$NOVA_CONF``). Least privilege where it gives more: ``profile
        rbd`` on the nova pool and on the pools of the plugin's rbd stores
        on that cluster (the ceph-native snapshot clones into them). Base
        images come from a file store and are imported, so no other pool
        is read. Our plugin's post-config must run afterwards, as in
        devstack.
        """
        compute = compute or cloud_nova.CONTROLLER
        cluster = cluster or self.ceph_cluster
        if cluster is None:
            raise RuntimeError('this cloud runs no Ceph cluster')
        variables = dict(DEVSTACK_PLUGIN_CEPH_NOVA)
        if secret_uuid:
            variables['CINDER_CEPH_UUID'] = secret_uuid
        conf = cluster.conf
        pool = variables['NOVA_CEPH_POOL']
        user = variables['CINDER_CEPH_USER']
        cluster.create_pool(pool)
        store_pools = [p for p, c in self.rbd_stores().values()
                       if c == conf]
        cluster.create_user(user, {
            'mon': 'profile rbd',
            'osd': ', '.join('profile rbd pool=%s' % p
                             for p in [pool] + store_pools)})
        self.define_libvirt_ceph_secret(compute, conf, user,
                                        variables['CINDER_CEPH_UUID'])
        files = self.devstack_files(compute=compute, CEPH_CONF_FILE=conf,
                                    **variables)
        devstack.run_script(files, DEVSTACK_PLUGIN_CEPH_NOVA_CONF)

    def define_libvirt_ceph_secret(self, compute, conf, user, secret_uuid):
        """A cephx user's key in the host's libvirtd, as ``secret_uuid``.

        devstack-plugin-ceph's ``import_libvirt_secret_ceph``: the secret
        rbd disks and volumes name in their libvirt XML.
        """
        key = common.register_secret(self.run(
            'ceph', '-c', conf, 'auth', 'get-key', 'client.%s' % user).strip(),
            'cephx key of client.%s' % user)
        libvirt_env.define_ceph_secret(
            self.state['libvirtds'][compute.host]['uri'], secret_uuid,
            'client.%s secret' % user, key)
