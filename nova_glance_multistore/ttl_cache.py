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

"""A value reused for a while, shared safely by concurrent snapshots."""

import threading
import time


class TtlCache:
    """One value, fetched again once ``ttl`` seconds have passed.

    A lock guards the value, not the fetch: two callers during a miss may
    both fetch, and each keeps a complete answer. ``None`` (no answer) is
    never cached, so a failure is retried by the next caller.
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._value = None
        self._expires = None

    def get(self, ttl, fetch):
        now = self._clock()
        with self._lock:
            if self._expires is not None and now < self._expires:
                return self._value
        value = fetch()
        if value is not None and ttl > 0:
            with self._lock:
                self._value, self._expires = value, now + ttl
        return value
