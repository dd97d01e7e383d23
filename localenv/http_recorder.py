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

"""A recording HTTP proxy, to observe the real requests sent to Glance.

It forwards every request to one upstream and keeps the method, path,
headers, body size and answer of each, so a test can show which request
carried which header and what became of it. It also injects faults: the
next requests answered with an error instead of being forwarded, counted so
a test can prove every fault it queued was met.
"""

import http.client
import http.server
import threading
import urllib.parse

from localenv import service

HOP_BY_HOP = {'connection', 'keep-alive', 'transfer-encoding', 'te',
              'trailer', 'upgrade', 'proxy-connection'}


class RecordedRequest:
    def __init__(self, method, path, headers, body_size):
        self.method = method
        self.path = path
        self.headers = headers  # lower-cased names
        self.body_size = body_size
        self.fault = None  # the status injected instead of forwarding
        self.status = None  # the status the client got, None: no answer
        self.refused = False  # the upstream refused the connection

    def __repr__(self):
        return '<%s %s %s body=%d fault=%s status=%s refused=%s>' % (
            self.method, self.path, sorted(self.headers), self.body_size,
            self.fault, self.status, self.refused)


class RecordingProxy(service.Service):
    def __init__(self, upstream_url):
        parsed = urllib.parse.urlparse(upstream_url)
        self.upstream = (parsed.hostname, parsed.port)
        self.requests = []
        self._failures = []  # (method or None, status) to answer next
        self.faults_injected = 0  # queued faults answered so far
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = None

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self._server.server_address[1]

    def fail_next(self, count, status=503, method=None):
        """Make the next ``count`` requests fail, as a faulty Glance.

        They are answered with ``status`` (only those of ``method`` when
        given) and never forwarded.
        """
        with self._lock:
            self._failures.extend([(method, status)] * count)

    def _take_failure(self, method):
        with self._lock:
            for i, (wanted, status) in enumerate(self._failures):
                if wanted in (None, method):
                    del self._failures[i]
                    self.faults_injected += 1
                    return status
        return None

    def pending_faults(self):
        """How many queued faults no request has met yet."""
        with self._lock:
            return len(self._failures)

    def clear(self):
        with self._lock:
            del self.requests[:]

    def reset(self):
        """No queued fault, no record, no count: as freshly started."""
        with self._lock:
            del self.requests[:]
            del self._failures[:]
            self.faults_injected = 0

    def recorded(self):
        with self._lock:
            return list(self.requests)

    def _record(self, request):
        with self._lock:
            self.requests.append(request)

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _read_body(self):
                if self.headers.get('Transfer-Encoding', '').lower() == \
                        'chunked':
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b';')[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b'\r\n',
                                                                b'\n', b''):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b''.join(chunks)
                length = int(self.headers.get('Content-Length') or 0)
                return self.rfile.read(length) if length else b''

            def _forward(self):
                body = self._read_body()
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP}
                record = RecordedRequest(
                    self.command, self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    len(body))
                proxy._record(record)
                failure = proxy._take_failure(self.command)
                if failure is not None:
                    record.fault = record.status = failure
                    # Shaped like the plain-text error pages webob sends.
                    payload = ('%d injected fault\n\nThe server cannot '
                               'answer now.' % failure).encode()
                    self.send_response(failure)
                    self.send_header('Content-Type',
                                     'text/plain; charset=UTF-8')
                    self.send_header('Content-Length', str(len(payload)))
                    self.send_header('Connection', 'close')
                    self.end_headers()
                    self.wfile.write(payload)
                    self.close_connection = True
                    return
                headers['Content-Length'] = str(len(body))
                headers['Connection'] = 'close'
                conn = http.client.HTTPConnection(*proxy.upstream,
                                                  timeout=600)
                try:
                    try:
                        conn.connect()
                    except ConnectionRefusedError:
                        # Upstream down: the client sees its connection
                        # closed with no answer, as from a dead server.
                        record.refused = True
                        self.close_connection = True
                        return
                    try:
                        conn.request(self.command, self.path, body=body,
                                     headers=headers)
                    except (BrokenPipeError, ConnectionResetError):
                        # Glance answered (an error) before reading the
                        # whole body and closed: its answer is waiting.
                        pass
                    try:
                        resp = conn.getresponse()
                        data = resp.read()
                    except (OSError, http.client.HTTPException):
                        resp, data = None, b''
                finally:
                    conn.close()
                if resp is None:
                    record.status = 502
                    self.send_response(502, 'Bad Gateway')
                    self.send_header('Content-Length', '0')
                    self.send_header('Connection', 'close')
                    self.end_headers()
                    self.close_connection = True
                    return
                record.status = resp.status
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in HOP_BY_HOP | {'content-length'}:
                        self.send_header(key, value)
                self.send_header('Content-Length', str(len(data)))
                self.send_header('Connection', 'close')
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _forward
            do_HEAD = _forward

        return Handler
