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

"""upload_framing: sized for every store but a Swift one that would hang."""

import io

from nova_glance_multistore import upload_framing

MB = 1024000  # glance_store's Swift unit


def _swift(large=5 * MB, segment=2 * MB):
    return {'id': 'swift-0', 'type': 'swift', 'properties': {
        'container': 'glance', 'large_object_size': large,
        'large_object_chunk_size': segment}}


S3 = {'id': 'fast', 'type': 's3', 'properties': {
    's3_store_large_object_size': 5242880,
    's3_store_large_object_chunk_size': 5242880}}


def test_s3_uploads_are_sized_so_glance_uses_multipart():
    framing = upload_framing.choose(S3, 12595257)
    assert framing.sized
    assert framing.headers(12595257) == {
        'x-openstack-image-size': '12595257'}


def test_swift_with_a_short_last_segment_sends_no_size():
    framing = upload_framing.choose(_swift(), 5 * MB + 1)
    assert not framing.sized
    assert framing.headers(5 * MB + 1) == {}
    assert 'short segment of 1024001 bytes' in framing.reason


def test_swift_sizes_that_cannot_hang_stay_sized():
    # Below large_object_size: one PUT of the declared length.
    assert upload_framing.choose(_swift(), 5 * MB - 1).sized
    # A whole number of segments: every declared length is right.
    assert upload_framing.choose(_swift(), 6 * MB).sized


def test_swift_at_exactly_large_object_size_is_segmented_by_glance():
    # glance_store segments from size >= large_object_size: 5 MB in 2 MB
    # segments ends short.
    assert not upload_framing.choose(_swift(), 5 * MB).sized


def test_swift_of_unknown_segment_sizes_sends_no_size():
    entry = {'id': 'swift-0', 'type': 'swift', 'properties': {}}
    assert not upload_framing.choose(entry, 10).sized


def test_unknown_size_is_not_sent_and_unknown_store_gets_it():
    assert not upload_framing.choose(S3, None).sized
    assert upload_framing.choose(None, 10).sized


def test_remaining_size_counts_from_the_position(tmp_path):
    path = tmp_path / 'disk'
    path.write_bytes(b'x' * 100)
    with open(path, 'rb') as handle:
        handle.read(30)
        assert upload_framing.remaining_size(handle) == 70
    assert upload_framing.remaining_size(io.BytesIO(b'abc')) is None
