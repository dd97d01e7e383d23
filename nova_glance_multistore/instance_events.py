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

"""A refused upload as a failed event on the instance action.

nova 34 runs a snapshot in a task of its own after answering the RPC, so
its ``compute_snapshot_instance`` event says Success before our refusal
happens, and nova shows a server's fault only in ERROR. A user learns of
the refusal from this event instead: ``openstack server event show SERVER
REQUEST_ID`` lists it with result Error; its ``details`` (the message:
store, who chose it, why) show to admins from microversion 2.84, and to
users where ``os_compute_api:os-instance-actions:events:details`` allows.
"""

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

EVENT = 'compute_glance_multistore_store'


def record_refusal(context, instance, error):
    """Add the failed event to the request's instance action; never raises."""
    from nova import objects

    try:
        objects.InstanceActionEvent.event_start(
            context, instance.uuid, EVENT, want_result=False,
            host=getattr(instance, 'host', None))
        objects.InstanceActionEvent.event_finish_with_failure(
            context, instance.uuid, EVENT, exc_val=error,
            exc_tb=error.__traceback__, want_result=False)
    except Exception as e:
        LOG.warning('Could not record the refusal of the upload as instance '
                    'action event %(event)s: %(error)s',
                    {'event': EVENT, 'error': e}, instance=instance)
