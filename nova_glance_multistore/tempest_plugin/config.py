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

"""The plugin's tempest options.

These names are a contract: the devstack plugin's test-config phase and the
all-in-one cloud write exactly them.
"""

from oslo_config import cfg

service_option = cfg.BoolOpt(
    'nova_glance_multistore',
    default=True,
    help='Whether nova-compute runs the nova-glance-multistore driver '
         '(store-aware snapshot, backup and shelve uploads).')

group = cfg.OptGroup(
    name='nova_glance_multistore',
    title='nova-glance-multistore test options')

opts = [
    cfg.StrOpt('boot_image_store',
               default='',
               help='Glance store the tests upload the image they boot '
                    'from into. It should be a writable store that is not '
                    "Glance's default. Empty: the first writable "
                    "non-default store of GET /v2/info/stores."),
    cfg.StrOpt('dedicated_store',
               default='',
               help="nova-compute's [glance] store, the store every "
                    'snapshot, backup and shelve image is sent to. Empty: '
                    'none is configured and images follow their base '
                    'image.'),
    cfg.BoolOpt('ceph_native',
                default=False,
                help='Instance disks are rbd on the Ceph cluster of the '
                     'target rbd store: expect snapshots to carry an rbd:// '
                     'location filed under the target store.'),
    cfg.StrOpt('ceph_native_snapshot',
               default='flatten',
               choices=['flatten', 'copy-on-write'],
               help="nova-compute's [glance_multistore] "
                    'ceph_native_snapshot: with copy-on-write, a server '
                    'booted from a snapshot must outlive the server it was '
                    'taken of.'),
    cfg.ListOpt('object_stores',
                default=[],
                help='Glance s3 and swift stores: a server booted from an '
                     'image in each must snapshot into that store (the '
                     'object-store tests run only when this is set and no '
                     'dedicated_store is).'),
    cfg.ListOpt('cinder_stores',
                default=[],
                help='Glance cinder stores: a server booted from an image '
                     'in each must snapshot into that store, in a Cinder '
                     'volume of the store\'s volume type (the tests run '
                     'only when this is set, Cinder is available and no '
                     'dedicated_store is).'),
    cfg.ListOpt('site_stores',
                default=[],
                help='Sites, "availability-zone:store" each: a server in '
                     'that zone must snapshot ceph-native into that rbd '
                     'store (its compute hosts\' [glance] store, on their '
                     'own Ceph cluster), each site on a cluster of its '
                     'own. Empty: no site test.'),
    cfg.ListOpt('user_selectable_stores',
                default=[],
                help="nova-compute's [glance_multistore] "
                     'user_selectable_stores: a server whose metadata '
                     'glance_multistore:snapshot_store names one of them '
                     'snapshots into it, one naming another store gets a '
                     'fault and no image. Empty: users may not choose, and '
                     'only the refusal is tested.'),
    cfg.ListOpt('expected_stores',
                default=[],
                help='Glance stores expected to be enabled; any missing one '
                     'fails the check test.'),
]
