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

"""Whether an upload tells Glance its size, as its store needs.

glanceclient sends every file body chunked (no ``Content-Length``), so
Glance sees size 0 unless ``x-openstack-image-size`` says otherwise (Glance
33 reads it first). With size 0, glance_store 5.7's S3 driver takes the
single-part path, which concatenates the whole image in glance-api's
memory before one ``put_object`` (and AWS S3 refuses a single PUT over
5 GiB); with the size known it uploads in parts of
``s3_store_large_object_chunk_size``. nova sends no size: we do.

Its Swift driver has the opposite trap: with a known size of at least
``large_object_size`` it declares every segment ``large_object_chunk_size``
long, the short last one included, and RGW or Swift waits for bytes that
never come (measured: Glance answers 500 after 67 s, the image stays
queued). Such an upload goes without its size: Glance then segments by
reading, and the last segment is declared by its real length.
"""

import dataclasses
import os

SIZE_HEADER = 'x-openstack-image-size'


@dataclasses.dataclass(frozen=True)
class Framing:
    """Sized (Glance told the size) or not, and why."""

    sized: bool
    reason: str

    def headers(self, size):
        return {SIZE_HEADER: str(size)} if self.sized else {}


def remaining_size(data):
    """Bytes left in a file from its position, or None (a pipe, a stream)."""
    try:
        return os.fstat(data.fileno()).st_size - data.tell()
    except (AttributeError, OSError, ValueError):
        return None


def _int_property(entry, name):
    value = ((entry or {}).get('properties') or {}).get(name)
    return value if isinstance(value, int) and value > 0 else None


def choose(store_entry, size):
    """The framing of ``size`` bytes for a stores/detail entry (or None)."""
    if size is None:
        return Framing(False, 'size unknown: no size sent')
    store_type = (store_entry or {}).get('type')
    if store_type == 'swift':
        large = _int_property(store_entry, 'large_object_size')
        segment = _int_property(store_entry, 'large_object_chunk_size')
        if large is None or segment is None:
            return Framing(False, 'swift store of unknown segment sizes: '
                                  'no size sent')
        if size >= large and size % segment:
            return Framing(False, 'swift store: %d bytes would end in a '
                                  'short segment of %d bytes declared as %d '
                                  '(glance_store hangs): no size sent' % (
                                      size, size % segment, segment))
    if store_entry is None:
        return Framing(True, 'store type unknown (%s not readable): sized' %
                       'stores/detail')
    return Framing(True, '%s store: sized' % store_type)
