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

"""Disk reads of an upload off eventlet's hub, and nothing else.

Under eventlet (nova 34: deprecated, still selectable) a read of the
snapshot file blocks every green thread of nova-compute. nova's own upload
therefore runs in eventlet's pool of OS threads (``tpool``) as a whole:
glanceclient, keystoneauth, requests and logging included. Those share
locks with the green threads (``logging._lock``, taken by every
keystoneauth request; urllib3's pools of nova's cached session), and under
eventlet those locks are green: an OS thread that contends for one either
never wakes its green waiters or tries to switch into another thread
(``greenlet.error: cannot switch to a different thread``), and nova-compute
hangs (eventlet issue 432; seen with 16 concurrent snapshots). Here the HTTP
request stays on green sockets and only ``read`` goes to an OS thread, in
blocks large enough that the hand-over costs nothing measurable.
"""

import typing

BLOCK = 4 * 1024 * 1024


class OffloadedReader:
    """A read-only file whose reads of the underlying file run elsewhere.

    ``execute(fn, *args)`` runs ``fn`` in an OS thread and returns its
    result (eventlet's ``tpool.execute``). Reads return at most one block
    (a short read, as a socket or pipe gives); an empty read is the end.
    ``tell``/``seek`` account for the buffered block, so an upload retried
    from its first byte (image_api) and requests' length of the body
    (``fileno`` and ``tell``) see the position of the caller, not the
    read-ahead.
    """

    def __init__(self, raw: typing.BinaryIO,
                 execute: typing.Callable[..., typing.Any],
                 block: int = BLOCK):
        self._raw = raw
        self._execute = execute
        self._block_size = block
        self._block = b''
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        if self._offset >= len(self._block):
            if size is None or size < 0:
                return self._execute(self._raw.read)
            self._block = self._execute(self._raw.read,
                                        max(size, self._block_size))
            self._offset = 0
        if size is None or size < 0:
            rest = self._block[self._offset:] + self._execute(self._raw.read)
            self._block, self._offset = b'', 0
            return rest
        start = self._offset
        self._offset = min(start + size, len(self._block))
        return self._block[start:self._offset]

    def tell(self) -> int:
        return self._raw.tell() - (len(self._block) - self._offset)

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset, whence = self.tell() + offset, 0
        self._block, self._offset = b'', 0
        return self._raw.seek(offset, whence)

    def seekable(self) -> bool:
        return self._raw.seekable()

    def fileno(self) -> int:
        return self._raw.fileno()

    @property
    def mode(self) -> str:
        return getattr(self._raw, 'mode', 'rb')

    def __iter__(self) -> typing.Iterator[bytes]:
        """Blocks, so that requests streams this as it streams a file."""
        return iter(lambda: self.read(self._block_size), b'')
