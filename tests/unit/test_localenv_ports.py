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

"""Ports of the local environment: a reserved port stays ours until the
service has it; a service whose port was taken starts again on a new one.
"""

import errno
import socket
import subprocess
import sys

import pytest

from localenv import common

# A stand-in for a service that binds its own port and exits when it
# cannot, logging what MariaDB or uWSGI would.
SERVICE = '''
import socket, sys
sock = socket.socket()
try:
    sock.bind(('127.0.0.1', int(sys.argv[1])))
except OSError as e:
    print('bind(): %s' % e.strerror)
    sys.exit(1)
print('bound to TCP address 127.0.0.1:%s' % sys.argv[1])
'''


def _occupy(port):
    sock = socket.socket()
    sock.bind(('127.0.0.1', port))
    sock.listen()
    return sock


def test_a_reserved_port_cannot_be_taken_before_the_hand_over():
    reserved = common.reserve_port()
    port = reserved.getsockname()[1]
    try:
        with pytest.raises(OSError) as taken:
            _occupy(port)
        assert taken.value.errno == errno.EADDRINUSE
        assert reserved.get_inheritable()
        # Until the service listens, clients are refused, not left hanging.
        with socket.socket() as client:
            assert client.connect_ex(('127.0.0.1', port)) != 0
    finally:
        reserved.close()
    _occupy(port).close()  # ours closed: free again


def test_free_port_never_hands_out_a_port_twice():
    ports = [common.free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)


def test_retry_starts_again_on_a_new_port_when_the_port_was_taken():
    ports = [common.free_port()]
    squatter = _occupy(ports[0])  # another suite got there first
    outputs = []

    def start():
        done = subprocess.run([sys.executable, '-c', SERVICE,
                               str(ports[-1])], capture_output=True,
                              text=True)
        outputs.append(done.stdout)
        if done.returncode and common.address_in_use(done.stdout):
            ports.append(common.free_port())
            raise common.PortInUse('port %d' % ports[-2])
        return ports[-1]

    try:
        port = common.retry_on_port_in_use(start)
    finally:
        squatter.close()
    assert port == ports[1] != ports[0]
    assert 'Address already in use' in outputs[0]
    assert 'bound to TCP address 127.0.0.1:%d' % port in outputs[1]


def test_retry_gives_up_after_its_attempts():
    calls = []

    def start():
        calls.append(1)
        raise common.PortInUse('always taken')

    with pytest.raises(common.PortInUse):
        common.retry_on_port_in_use(start, attempts=3)
    assert len(calls) == 3


@pytest.mark.parametrize('line', [
    # MariaDB 10.11
    "[ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: "
    "Address already in use",
    # uWSGI 2.0
    'bind(): Address already in use [core/socket.c line 769]',
    # RabbitMQ 3.10 (Erlang)
    'Failed to start Ranch listener ... eaddrinuse',
])
def test_services_port_conflicts_are_recognised(line):
    assert common.address_in_use(line)


def test_other_failures_are_not_taken_for_port_conflicts():
    assert not common.address_in_use(
        '[ERROR] InnoDB: Cannot allocate memory for the buffer pool')
