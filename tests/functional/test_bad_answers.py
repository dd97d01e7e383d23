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

"""Malformed /v2/info/stores answers from a real HTTP server, read through
nova's real Glance client: a clear error, never a guess."""

import http.server
import threading

import pytest

from nova_glance_multistore import exception
from nova_glance_multistore import glance_client
from nova_glance_multistore import stores

ANSWERS = {
    'not-json': (200, b'<html>surprise</html>', 'text/html'),
    'truncated': (200, b'{"stores": [{"id": "fa', 'application/json'),
    'list': (200, b'[1, 2, 3]', 'application/json'),
    'no-stores': (200, b'{"backends": []}', 'application/json'),
    'bad-entry': (200, b'{"stores": ["fast"]}', 'application/json'),
    'numeric-id': (200, b'{"stores": [{"id": 7}]}', 'application/json'),
    'duplicate': (200, b'{"stores": [{"id": "a"}, {"id": "a"}]}',
                  'application/json'),
    'server-error': (500, b'{"error": "boom"}', 'application/json'),
}


@pytest.fixture(scope='module')
def bad_glance():
    current = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            status, body, ctype = ANSWERS[current['name']]
            self.send_response(status)
            self.send_header('Content-Type', ctype)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield current, 'http://127.0.0.1:%d' % server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize('name', sorted(ANSWERS))
def test_bad_answer_is_a_clear_error(compute_host, bad_glance, name):
    compute = compute_host
    current, url = bad_glance
    current['name'] = name
    compute.set('glance', 'api_servers', [url])
    try:
        facts = glance_client.GlanceFacts()
        catalog = stores.StoreCatalog(facts.stores_info, ttl=0)
        with pytest.raises(exception.StoreCatalogUnavailable) as error:
            catalog.get(compute.context())
        assert "Cannot read Glance's store list" in str(error.value)
    finally:
        compute.set('glance', 'api_servers', [compute.glance_url])
