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

"""What every service of the local environment shares.

A service is started on loopback by a test, the demo or a benchmark and
stopped after: ``start()`` returns the service, ``stop()`` is safe on
one that never (fully) started, and ``with`` does both, stopping what a
failed start left running. ``missing_reason`` says what this machine
lacks to run it (None when nothing), so callers can skip with the reason.
"""


def nothing_missing():
    return None


class Service:
    """Start, stop and the context manager of one local service."""

    #: What this machine lacks to run the service, or None.
    missing_reason = staticmethod(nothing_missing)

    def require(self):
        """Raise the reason this machine cannot run the service, if any."""
        reason = self.missing_reason()
        if reason:
            raise RuntimeError(reason)

    def start(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


class HttpService(Service):
    """A service with an HTTP API on 127.0.0.1:``port``."""

    #: The path of the API's root, after the port.
    api_path = ''

    @property
    def url(self):
        return 'http://127.0.0.1:%d%s' % (self.port, self.api_path)
