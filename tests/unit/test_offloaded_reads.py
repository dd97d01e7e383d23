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

"""OffloadedReader: reads go to ``execute``, positions stay the caller's."""

import io

from requests import utils as requests_utils

from nova_glance_multistore import offloaded_reads

DATA = bytes(range(256)) * 40  # 10240 bytes


class Executor:
    """Runs the call here, and notes each one."""

    def __init__(self):
        self.calls = []

    def __call__(self, fn, *args):
        self.calls.append(args)
        return fn(*args)


def _reader(tmp_path, block=4096):
    path = tmp_path / 'disk'
    path.write_bytes(DATA)
    raw = open(path, 'rb')
    execute = Executor()
    return offloaded_reads.OffloadedReader(raw, execute, block=block), execute


def test_every_read_of_the_file_goes_through_execute_in_blocks(tmp_path):
    reader, execute = _reader(tmp_path)
    out = b''
    while chunk := reader.read(1000):
        assert len(chunk) <= 1000
        out += chunk
    assert out == DATA
    # 10240 bytes in 4096-byte blocks: 3 reads and the empty one at the end.
    assert execute.calls == [(4096,)] * 4


def test_a_read_larger_than_a_block_is_read_at_once(tmp_path):
    reader, execute = _reader(tmp_path)
    assert reader.read(9000) == DATA[:9000]
    assert execute.calls == [(9000,)]


def test_tell_and_seek_count_the_bytes_handed_out_not_read_ahead(tmp_path):
    reader, _ = _reader(tmp_path)
    reader.read(100)
    assert reader.tell() == 100
    reader.read(5000)  # rest of the first block: a short read
    assert reader.tell() == 4096
    reader.seek(10)
    assert reader.tell() == 10
    assert reader.read(5) == DATA[10:15]
    reader.seek(5, io.SEEK_CUR)
    assert reader.read(5) == DATA[20:25]
    assert reader.seekable()


def test_read_all_returns_the_buffer_and_the_rest(tmp_path):
    reader, _ = _reader(tmp_path)
    reader.read(10)
    assert reader.read() == DATA[10:]
    assert reader.read() == b''
    assert reader.read(10) == b''


def test_requests_sees_the_remaining_length_and_a_binary_file(tmp_path):
    reader, _ = _reader(tmp_path)
    assert requests_utils.super_len(reader) == len(DATA)
    reader.read(100)
    assert requests_utils.super_len(reader) == len(DATA) - 100
    assert reader.mode == 'rb'


def test_iteration_yields_the_whole_file(tmp_path):
    reader, _ = _reader(tmp_path)
    assert b''.join(reader) == DATA
