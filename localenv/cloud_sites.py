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

"""Two sites for ``localenv.cloud``: a Ceph cluster and compute host each.

Edge deployments (distributed compute nodes) keep one Ceph cluster and one
Glance rbd store per site, and the seed's sample names them
``enabled_backends = ceph-0:rbd, ceph-1:rbd``. Site 0 is the controller's
own compute host on the cloud's first cluster; site 1 is a second
nova-compute host, as a devstack subnode would be: its own nova.conf, its
own libvirtd (in a UTS namespace, so that it reports a host name of its
own to nova and placement), its own instances, state and locks, its
instance disks on its site's cluster (devstack-plugin-ceph's part
emulated there) and our plugin's post-config run on it with ``[glance]
store`` = its site's store. Each site is an availability zone (a host
aggregate); a server that names no zone goes to site 0
(``default_schedule_zone``).
"""

import dataclasses

from localenv import cloud_ceph
from localenv import cloud_nova
from localenv import common
from localenv import devstack

# devstack's service names on a compute-only subnode.
SUBNODE_SERVICES = ('n-cpu', 'placement-client')


@dataclasses.dataclass(frozen=True)
class Site:
    """An availability zone, its compute host, cluster and rbd store."""

    zone: str
    compute: cloud_nova.ComputeHost
    cluster: str
    store: str
    # The libvirt secret of its nova cephx user (rbd_secret_uuid).
    secret_uuid: str = None


SITES = (
    Site('site-0', cloud_nova.CONTROLLER, 'ceph', 'ceph-0'),
    Site('site-1', cloud_nova.ComputeHost('ngm-site-1', suffix='-site-1',
                                          hostname='ngm-site-1'),
         'ceph-1', 'ceph-1',
         secret_uuid='0c6f4d7e-2b1a-4f3e-8d5c-7a9b1e2f3c41'),
)
DEFAULT_ZONE = SITES[0].zone


class SitesMixin:
    """The steps of site 1 and the zones, and the sites' variables."""

    def sites_enabled(self):
        """Sites need rbd instance disks: only with Ceph."""
        return bool(self.ceph)

    def start_site_clusters(self):
        """The other sites' clusters (site 0's is the cloud's own)."""
        for site in SITES[1:]:
            cluster = self.start_cluster(site.cluster)
            self.state.setdefault('site_ceph_confs', {})[site.zone] = (
                cluster.conf)
            self.site_clusters[site.zone] = cluster
        self.save_state()

    def default_zone(self):
        """Where a server that names no zone goes; None: one site."""
        return DEFAULT_ZONE if self.sites_enabled() else None

    def site_ceph_conf(self, site):
        if site.compute == cloud_nova.CONTROLLER:
            return self.state['ceph_conf']
        return self.state['site_ceph_confs'][site.zone]

    def site_variables(self):
        """Each site's rbd store on its own cluster, for the plugin."""
        if not self.state.get('site_ceph_confs'):
            return {}
        # Each cluster's devstack-plugin-ceph Glance pool (start_cluster).
        pool = cloud_ceph.DEVSTACK_PLUGIN_CEPH_GLANCE['GLANCE_CEPH_POOL']
        return {'NGM_GLANCE_RBD_STORES': ','.join(
            '%s:%s:%s' % (site.store, pool, self.site_ceph_conf(site))
            for site in SITES)}

    def site_stores(self):
        """The tempest plugin's ``site_stores``: "zone:store" each."""
        return ','.join('%s:%s' % (site.zone, site.store) for site in SITES)

    def _second_site(self):
        """Site 1's compute host: a devstack subnode on its own cluster."""
        if not self.sites_enabled():
            common.log('cloud: no Ceph: a single site')
            return
        for site in SITES[1:]:
            compute = site.compute
            self._write_nova_conf(compute)
            self.start_libvirtd(compute)
            self.emulate_devstack_plugin_ceph_nova(
                compute, self.site_clusters[site.zone], site.secret_uuid)
            devstack.run_phase(
                self.devstack_files(compute=compute,
                                    NGM_SNAPSHOT_STORE=site.store,
                                    CEPH_CONF_FILE=self.site_ceph_conf(site)),
                'stack', 'post-config')
            process = self.start_compute(compute)
            self.discover_compute_host(process, compute)
            self.wait_compute_up(process, compute)

    def _zones(self):
        """An availability zone (host aggregate) per site."""
        if not self.sites_enabled():
            return
        for site in SITES:
            self.openstack('aggregate', 'create', '--zone', site.zone,
                           site.zone)
            self.openstack('aggregate', 'add', 'host', site.zone,
                           site.compute.host)
        self.state['zones'] = {site.zone: site.compute.host
                               for site in SITES}
        self.save_state()
