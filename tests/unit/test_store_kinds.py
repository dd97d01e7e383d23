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

"""store_kinds: each store type in one line, and how snapshots reach it."""

from nova_glance_multistore import store_kinds

S3 = {'id': 'fast', 'type': 's3', 'properties': {
    's3_store_large_object_size': 100 << 20,
    's3_store_large_object_chunk_size': 10 << 20}}
SWIFT = {'id': 'swift-0', 'type': 'swift', 'properties': {
    'container': 'glance', 'large_object_size': 5242880000,
    'large_object_chunk_size': 204800000}}
RBD = {'id': 'ceph-0', 'type': 'rbd', 'properties': {
    'pool': 'images', 'fsid': 'f-1'}}


def test_summary_names_what_each_type_keeps_where():
    assert store_kinds.summary(S3) == 's3: multipart from 100 MiB in 10 MiB ' \
                                      'parts'
    assert store_kinds.summary(SWIFT) == (
        'swift: container glance, segments of 204800000 bytes from '
        '5242880000 bytes')
    assert store_kinds.summary(RBD) == 'rbd: pool images of Ceph cluster f-1'
    assert store_kinds.summary({'type': 'http'}) == 'http: read-only'
    assert store_kinds.summary({'type': 'cinder', 'properties': {
        'volume_type': 'fast'}}) == 'cinder: volume type fast'
    assert store_kinds.summary({'type': 'vmware'}) == 'vmware'


def test_rbd_stores_are_left_to_the_ceph_native_check():
    assert store_kinds.target_finding(RBD) is None


def test_swift_finding_names_the_sizes_sent_without_size():
    ok, text = store_kinds.target_finding(SWIFT)
    assert ok
    assert 'at least 5242880000 bytes ending in a short segment' in text
    unknown = dict(SWIFT, properties={})
    assert 'without their size' in store_kinds.target_finding(unknown)[1]


def test_read_only_stores_are_never_targets():
    ok, text = store_kinds.target_finding({'id': 'web', 'type': 'http'})
    assert ok and 'never a snapshot target' in text
    ok, text = store_kinds.target_finding(
        {'id': 'ro', 'type': 'file', 'read-only': 'true'})
    assert 'never a snapshot target' in text


def test_s3_finding_says_snapshots_stream_with_their_size():
    ok, text = store_kinds.target_finding(S3)
    assert ok and text == ('store fast (s3: multipart from 100 MiB in 10 MiB '
                           'parts): snapshots stream into it with their size')
