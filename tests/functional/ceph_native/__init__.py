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

"""Ceph-native snapshot into the target rbd store, on real Ceph clusters.

Two throwaway clusters: ``c0`` holds the instance disk (pool ``vms``) and
two Glance rbd stores (``ceph0`` on pool ``images``, ``ceph0snap`` on pool
``snapshots``); ``c1`` is another cluster with store ``ceph1``. nova's own
``Rbd`` image-backend object drives the disk, with nova's least-privilege
cephx user, and a real QEMU guest runs on that rbd disk for the end-to-end
tests through nova's ``LibvirtDriver.snapshot()``.

Glance here has no Keystone: registering an rbd location needs the
``service`` role, which the stand-in auth filter grants to a token
``roles:...,service``. Only the tests on the ``ks_compute`` fixture (in
``test_service_role``) run a real Keystone, where the role comes from
nova's service token.

The clusters and their Glance are started once for the whole package
(``conftest.py``); the tests are split by theme:

- ``test_direct_snapshot``: ``direct_snapshot()`` of nova's ``Rbd`` image
  backend alone, and what the CLI's ``check`` says of the stores;
- ``test_rbd_guest_snapshot``: ``LibvirtDriver.snapshot()`` of a real QEMU
  guest on its rbd disk;
- ``test_service_role``: the ``service`` role Glance asks for, and what
  nova does without it;
- ``test_ceph_faults``: an OSD stopped half-way, and no cephx key in any
  log.
"""
