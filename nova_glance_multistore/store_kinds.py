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

"""What each Glance store is, and how a snapshot reaches it, in words.

For the operator CLI (``stores --detail``, ``check``): one line per store
from its stores/detail entry. rbd stores are left to rbd_stores, which
knows whether this host can clone into them.
"""

MIB = 1 << 20


def _props(entry):
    return entry.get('properties') or {}


def _mib(value):
    return '%g MiB' % (value / MIB) if isinstance(value, int) else '?'


def summary(entry):
    """One line: the store's type and where its data goes."""
    kind = entry.get('type') or '?'
    props = _props(entry)
    if kind == 'rbd':
        return 'rbd: pool %s of Ceph cluster %s' % (
            props.get('pool', '?'), props.get('fsid', '?'))
    if kind == 's3':
        return 's3: multipart from %s in %s parts' % (
            _mib(props.get('s3_store_large_object_size')),
            _mib(props.get('s3_store_large_object_chunk_size')))
    if kind == 'swift':
        return 'swift: container %s, segments of %s bytes from %s bytes' % (
            props.get('container', '?'),
            props.get('large_object_chunk_size', '?'),
            props.get('large_object_size', '?'))
    if kind == 'file':
        return 'file: %s' % props.get('data_dir', '?')
    if kind == 'http':
        return 'http: read-only'
    if kind == 'cinder':
        return 'cinder: volume type %s' % props.get('volume_type', '?')
    return kind


def target_finding(entry):
    """(ok, how a snapshot reaches this non-rbd store), or None for rbd."""
    store, kind = entry.get('id'), entry.get('type') or '?'
    if kind == 'rbd':
        return None
    if entry.get('read-only') == 'true' or kind == 'http':
        return (True, 'store %s (%s) is read-only: never a snapshot target'
                % (store, kind))
    if kind == 'swift':
        props = _props(entry)
        if not all(isinstance(props.get(name), int) for name in (
                'large_object_size', 'large_object_chunk_size')):
            how = 'without their size (segment sizes unknown)'
        else:
            how = ('with their size, except sizes of at least %s bytes '
                   'ending in a short segment (glance_store 5.7 hangs '
                   'those)' % props['large_object_size'])
        return (True, 'store %s (swift): snapshots stream into it %s' % (
            store, how))
    return (True, 'store %s (%s): snapshots stream into it with their size'
            % (store, summary(entry)))
