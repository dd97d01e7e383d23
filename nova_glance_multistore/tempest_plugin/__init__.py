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

"""Tempest plugin: which Glance store nova's snapshots and backups land in.

Loaded only by tempest, through the ``tempest.test_plugins`` entry point;
nova-compute never imports this package. Nothing is imported here so that
the pure helpers in :mod:`.store_info` can be used without tempest.
"""
